#!/bin/sh
# First-time cluster setup for the workshop registration app; safe to run any number of times.
#
# 1. Creates the htpasswd Secret in openshift-config when it is missing; never overwrites it.
# 2. Adds an HTPasswd identity provider pointing at that Secret to OAuth/cluster with a JSON-patch
#    append, only when no provider points at it yet. Other providers are never touched: the patch
#    carries the resourceVersion it read, so a concurrent change makes it retry instead of clobbering.
#    It refuses, changing nothing, to reuse a provider whose mappingMethod is not `claim` (with `add`
#    or `lookup`, an attendee registering an existing user's name would become that user), and to add
#    a provider whose name is already taken by one that reads another Secret.
# 3. Once done, deletes its own two bindings (APP_NAMESPACE names them): its rights end with its job.
#
# Runs as the setup Job (cli image) or by hand: HTPASSWD_SECRET_NAME=htpass-secret sh setup.sh
set -eu

secret="${HTPASSWD_SECRET_NAME:-htpass-secret}"
provider="${IDENTITY_PROVIDER_NAME:-workshop}"
namespace=openshift-config
kubectl="${KUBECTL:-kubectl}"

refuse() {
  echo "refused: $*" >&2
  echo "nothing was changed; fix OAuth/cluster or the settings (openshift/app/settings.yaml), then re-run" >&2
  exit 3
}

# The providers, one per line: name, type, mappingMethod (empty means claim), the htpasswd Secret.
providers=$($kubectl get oauth cluster -o jsonpath='{range .spec.identityProviders[*]}{.name}{"\t"}{.type}{"\t"}{.mappingMethod}{"\t"}{.htpasswd.fileData.name}{"\n"}{end}')
readers=$(printf '%s\n' "$providers" | awk -F '\t' -v s="$secret" '$2 == "HTPasswd" && $4 == s')
if [ -n "$readers" ]; then
  unsafe=$(printf '%s\n' "$readers" | awk -F '\t' '$3 != "" && $3 != "claim" {print $1 " (mappingMethod " $3 ")"}')
  [ -z "$unsafe" ] || refuse "the identity provider $unsafe reads $secret; only mappingMethod claim is safe for self-registration"
else
  clash=$(printf '%s\n' "$providers" | awk -F '\t' -v p="$provider" '$1 == p {print $2 " reading " ($4 == "" ? "no htpasswd Secret" : $4)}')
  [ -z "$clash" ] || refuse "an identity provider named $provider already exists ($clash), not reading $secret"
fi

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
    break
  fi
  current=$($kubectl get oauth cluster -o jsonpath='{.spec.identityProviders}')
  if [ -n "$current" ] && [ "$current" != "[]" ]; then
    add="{\"op\":\"add\",\"path\":\"/spec/identityProviders/-\",\"value\":$idp}"
  else
    add="{\"op\":\"add\",\"path\":\"/spec/identityProviders\",\"value\":[$idp]}"
  fi
  patch="[{\"op\":\"test\",\"path\":\"/metadata/resourceVersion\",\"value\":\"$version\"},$add]"
  if $kubectl patch oauth cluster --type=json -p "$patch" >/dev/null; then
    echo "identity provider $provider added to OAuth/cluster, reading $namespace/$secret"
    break
  fi
  if [ "$attempt" -ge 5 ]; then
    echo "could not update OAuth/cluster after $attempt attempts" >&2
    exit 1
  fi
  sleep 2
done

if [ -n "${APP_NAMESPACE:-}" ]; then
  binding="workshop-registration-setup.$APP_NAMESPACE"
  $kubectl delete rolebinding "$binding" -n "$namespace" --ignore-not-found >/dev/null
  $kubectl delete clusterrolebinding "$binding" --ignore-not-found >/dev/null
  echo "setup done: its rights are withdrawn (bindings $binding deleted)"
fi
