#!/bin/sh
# First-time cluster setup for the workshop registration app; safe to run any number of times.
#
# 1. Creates the htpasswd Secret in openshift-config when it is missing; never overwrites it.
# 2. Adds an HTPasswd identity provider pointing at that Secret to OAuth/cluster with a JSON-patch
#    append, only when no provider points at it yet. Other providers are never touched: the patch
#    carries the resourceVersion it read, so a concurrent change makes it retry instead of clobbering.
#
# Runs as the setup Job (cli image) or by hand: HTPASSWD_SECRET_NAME=htpass-secret sh setup.sh
set -eu

secret="${HTPASSWD_SECRET_NAME:-htpass-secret}"
provider="${IDENTITY_PROVIDER_NAME:-workshop}"
namespace=openshift-config
kubectl="${KUBECTL:-kubectl}"

if $kubectl get secret "$secret" -n "$namespace" -o name >/dev/null 2>&1; then
  echo "secret $namespace/$secret exists: left as it is"
elif $kubectl create secret generic "$secret" -n "$namespace" --from-literal=htpasswd= >/dev/null; then
  echo "secret $namespace/$secret created (empty)"
else
  $kubectl get secret "$secret" -n "$namespace" -o name >/dev/null  # created meanwhile by someone else
fi

idp="{\"name\":\"$provider\",\"mappingMethod\":\"claim\",\"type\":\"HTPasswd\",\"htpasswd\":{\"fileData\":{\"name\":\"$secret\"}}}"
attempt=0
while :; do
  attempt=$((attempt + 1))
  version=$($kubectl get oauth cluster -o jsonpath='{.metadata.resourceVersion}')
  used=$($kubectl get oauth cluster -o jsonpath='{range .spec.identityProviders[*]}{.htpasswd.fileData.name}{"\n"}{end}')
  if printf '%s\n' "$used" | grep -qxF "$secret"; then
    echo "an identity provider already reads $secret: OAuth/cluster left as it is"
    exit 0
  fi
  providers=$($kubectl get oauth cluster -o jsonpath='{.spec.identityProviders}')
  if [ -n "$providers" ] && [ "$providers" != "[]" ]; then
    add="{\"op\":\"add\",\"path\":\"/spec/identityProviders/-\",\"value\":$idp}"
  else
    add="{\"op\":\"add\",\"path\":\"/spec/identityProviders\",\"value\":[$idp]}"
  fi
  patch="[{\"op\":\"test\",\"path\":\"/metadata/resourceVersion\",\"value\":\"$version\"},$add]"
  if $kubectl patch oauth cluster --type=json -p "$patch" >/dev/null; then
    echo "identity provider $provider added to OAuth/cluster, reading $namespace/$secret"
    exit 0
  fi
  if [ "$attempt" -ge 5 ]; then
    echo "could not update OAuth/cluster after $attempt attempts" >&2
    exit 1
  fi
  sleep 2
done
