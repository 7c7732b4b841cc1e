#!/bin/sh
# The cluster-wide setup of the workshop registration app, run once by a cluster admin with their own
# session, after `oc apply -k openshift/`; safe to run any number of times. `--remove` undoes it.
#
#   sh openshift/setup.sh            # after oc apply -k openshift/
#   sh openshift/setup.sh --remove   # at the end, before oc delete -k openshift/
#
# It needs rights that no account of the app's may hold — whoever can act as such an account (the app's
# instructors, any person who created its namespace first) would hold them too: creating a Secret in
# openshift-config and changing OAuth/cluster. So it runs as you, and nothing is left behind that grants
# them. What it does:
#
# 1. Checks that the app's namespace was made by `oc apply -k openshift/`, not by a person's project
#    request (`openshift.io/requester`, which nobody can change afterwards): that person would be its
#    admin, and so hold the app's token. It names whoever else holds `admin` or `edit` there.
# 2. Creates the event's own htpasswd Secret in openshift-config (workshop-registration-htpasswd.<namespace>,
#    labelled as this event's) when it is missing; never overwrites one. A Secret that exists and is not
#    this event's is used only with HTPASSWD_SECRET_SHARED=true (openshift/extras/shared-htpasswd).
# 3. Adds an HTPasswd identity provider reading it to OAuth/cluster with a JSON-patch append, only when
#    no provider reads it yet; other providers are never touched or reordered, and the patch carries
#    the resourceVersion it read, so a concurrent change makes it retry instead of clobbering. It refuses,
#    changing nothing, a provider reading the Secret whose mappingMethod is not `claim` (with `add` or
#    `lookup` an attendee registering an existing user's name would become that user), and a provider
#    of our name that reads another Secret.
#
# The settings come from the deployed ConfigMap (openshift/app/settings.yaml); the namespace from
# openshift/app/kustomization.yaml next to this script, or NAMESPACE. OC picks the client (default oc).
# Exit status: 0 done, 1 cannot run (not a cluster admin, not applied yet, the namespace not the
# apply's), 3 refused by the cluster's configuration (nothing was changed).
set -eu

oc="${OC:-oc}"
here=$(dirname "$0")
remove=false
case "${1:-}" in
  --remove) remove=true ;;
  "") ;;
  *) echo "usage: sh $0 [--remove]" >&2; exit 2 ;;
esac

fail() { echo "error: $1" >&2; shift; for line in "$@"; do echo "       $line" >&2; done; exit 1; }
refuse() {
  echo "refused: $*" >&2
  echo "nothing was changed; fix OAuth/cluster or the settings (openshift/app/settings.yaml), then re-run" >&2
  exit 3
}

namespace="${NAMESPACE:-$(sed -n 's/^namespace:[[:space:]]*\([^[:space:]#]*\).*$/\1/p' "$here/app/kustomization.yaml" 2>/dev/null | head -n 1)}"
[ -n "$namespace" ] || fail "cannot tell the app's namespace: set NAMESPACE"

# 0. You, as a cluster admin.
for right in "patch oauths.config.openshift.io/cluster" "create secrets -n openshift-config"; do
  # shellcheck disable=SC2086 # the words of $right are the arguments
  answer=$("$oc" auth can-i $right 2>/dev/null) || true
  [ "$answer" = yes ] || fail "you may not $right (oc auth can-i: ${answer:-no answer from the cluster})" \
    "log in as a cluster admin (oc login -u kubeadmin ...) and run this again"
done

# 1. The app's namespace, as the apply made it.
"$oc" get namespace "$namespace" -o name >/dev/null 2>&1 || \
  fail "the namespace $namespace does not exist" "run oc apply -k $here/ first"
requester=$("$oc" get namespace "$namespace" -o 'jsonpath={.metadata.annotations.openshift\.io/requester}')
if [ -n "$requester" ]; then
  fail "the namespace $namespace was made by a project request of $requester, not by oc apply -k: that account is its admin and holds the app's token" \
       "if it is not yours: oc delete project $namespace, wait until it is gone, then oc apply -k $here/ and run this again" \
       "if you made it on purpose: remove the RoleBindings you do not want there, then oc annotate namespace $namespace openshift.io/requester-"
fi
setting() { "$oc" get configmap workshop-registration-settings -n "$namespace" -o "jsonpath={.data.$1}" 2>/dev/null; }
"$oc" get configmap workshop-registration-settings -n "$namespace" -o name >/dev/null 2>&1 || \
  fail "the app's settings are not in $namespace (configmap workshop-registration-settings)" "run oc apply -k $here/ first"
others=$("$oc" get rolebindings -n "$namespace" -o 'jsonpath={range .items[*]}{.metadata.name}{"\t"}{.metadata.labels.app\.kubernetes\.io/part-of}{"\t"}{.roleRef.name}{"\t"}{range .subjects[*]}{.kind}/{.name} {end}{"\n"}{end}' \
  | awk -F '\t' '$2 != "workshop-registration" && $1 !~ /^system:(image-pullers|image-builders|deployers)$/ && ($3 == "admin" || $3 == "edit") {sub(/ +$/, "", $4); print $4 " (" $3 ")"}' | tr '\n' ';' | sed 's/;$//; s/;/; /g')
[ -z "$others" ] || echo "note: these hold admin or edit in $namespace, and so the app's token and every attendee's data: $others"

secret="$(setting HTPASSWD_SECRET_NAME)"
secret="${secret:-workshop-registration-htpasswd.$namespace}"
shared="$(setting HTPASSWD_SECRET_SHARED | tr 'A-Z' 'a-z')"
provider="$(setting IDENTITY_PROVIDER_NAME)"
provider="${provider:-workshop}"
config=openshift-config
event_of_secret=$("$oc" get secret "$secret" -n "$config" -o 'jsonpath={.metadata.labels.workshop-registration/event}' 2>/dev/null || echo "-missing-")

# The providers, one per line: name, type, mappingMethod (empty means claim), the htpasswd Secret.
providers() {
  "$oc" get oauth cluster -o jsonpath='{range .spec.identityProviders[*]}{.name}{"\t"}{.type}{"\t"}{.mappingMethod}{"\t"}{.htpasswd.fileData.name}{"\n"}{end}'
}

if [ "$remove" = true ]; then
  if [ "$event_of_secret" != "$namespace" ] && \
     { [ "$event_of_secret" != "-missing-" ] || [ "$secret" != "workshop-registration-htpasswd.$namespace" ]; }; then
    echo "secret $config/$secret is not this event's own: it and the provider reading it are left as they are"
    exit 0
  fi
  attempt=0
  while :; do
    attempt=$((attempt + 1))
    version=$("$oc" get oauth cluster -o jsonpath='{.metadata.resourceVersion}')
    index=$(providers | awk -F '\t' -v p="$provider" -v s="$secret" '$1 == p && $2 == "HTPasswd" && $4 == s {print NR - 1; exit}')
    [ -n "$index" ] || { echo "no identity provider $provider reads $secret: OAuth/cluster left as it is"; break; }
    patch="[{\"op\":\"test\",\"path\":\"/metadata/resourceVersion\",\"value\":\"$version\"},{\"op\":\"test\",\"path\":\"/spec/identityProviders/$index/name\",\"value\":\"$provider\"},{\"op\":\"remove\",\"path\":\"/spec/identityProviders/$index\"}]"
    if "$oc" patch oauth cluster --type=json -p "$patch" >/dev/null; then
      echo "identity provider $provider removed from OAuth/cluster"
      break
    fi
    [ "$attempt" -lt 5 ] || { echo "could not update OAuth/cluster after $attempt attempts" >&2; exit 1; }
    sleep 2
  done
  "$oc" delete secret "$secret" -n "$config" --ignore-not-found >/dev/null
  echo "secret $config/$secret deleted; attendees' Users and Identities: python -m app cleanup (see the README)"
  exit 0
fi

# 2. The Secret and 3. the provider: decide everything before changing anything.
readers=$(providers | awk -F '\t' -v s="$secret" '$2 == "HTPasswd" && $4 == s')
if [ -n "$readers" ]; then
  unsafe=$(printf '%s\n' "$readers" | awk -F '\t' '$3 != "" && $3 != "claim" {print $1 " (mappingMethod " $3 ")"}')
  [ -z "$unsafe" ] || refuse "the identity provider $unsafe reads $secret; only mappingMethod claim is safe for self-registration"
else
  clash=$(providers | awk -F '\t' -v p="$provider" '$1 == p {print $2 " reading " ($4 == "" ? "no htpasswd Secret" : $4)}')
  [ -z "$clash" ] || refuse "an identity provider named $provider already exists ($clash), not reading $secret"
fi
if [ "$event_of_secret" != "-missing-" ] && [ "$event_of_secret" != "$namespace" ] && [ "$shared" != true ]; then
  refuse "the Secret $config/$secret exists and is not this event's own (it may hold other users' logins);" \
         "to add attendees to it anyway, enable openshift/extras/shared-htpasswd (HTPASSWD_SECRET_SHARED=true)," \
         "knowing that whoever holds the app's token can then rewrite every line in it"
fi

if [ "$event_of_secret" = "-missing-" ]; then
  printf '{"apiVersion":"v1","kind":"Secret","type":"Opaque","metadata":{"name":"%s","namespace":"%s","labels":{"app.kubernetes.io/part-of":"workshop-registration","workshop-registration/event":"%s"}},"data":{"htpasswd":""}}' \
    "$secret" "$config" "$namespace" | "$oc" create -f - >/dev/null
  echo "secret $config/$secret created (empty), this event's own"
else
  echo "secret $config/$secret exists: left as it is"
fi

idp="{\"name\":\"$provider\",\"mappingMethod\":\"claim\",\"type\":\"HTPasswd\",\"htpasswd\":{\"fileData\":{\"name\":\"$secret\"}}}"
attempt=0
while :; do
  attempt=$((attempt + 1))
  version=$("$oc" get oauth cluster -o jsonpath='{.metadata.resourceVersion}')
  if providers | awk -F '\t' -v s="$secret" '$2 == "HTPasswd" && $4 == s {found = 1} END {exit !found}'; then
    echo "an identity provider already reads $secret: OAuth/cluster left as it is"
    break
  fi
  current=$("$oc" get oauth cluster -o jsonpath='{.spec.identityProviders}')
  if [ -n "$current" ] && [ "$current" != "[]" ]; then
    add="{\"op\":\"add\",\"path\":\"/spec/identityProviders/-\",\"value\":$idp}"
  else
    add="{\"op\":\"add\",\"path\":\"/spec/identityProviders\",\"value\":[$idp]}"
  fi
  patch="[{\"op\":\"test\",\"path\":\"/metadata/resourceVersion\",\"value\":\"$version\"},$add]"
  if "$oc" patch oauth cluster --type=json -p "$patch" >/dev/null; then
    echo "identity provider $provider added to OAuth/cluster, reading $config/$secret"
    break
  fi
  [ "$attempt" -lt 5 ] || { echo "could not update OAuth/cluster after $attempt attempts" >&2; exit 1; }
  sleep 2
done
echo "setup done: OpenShift now rolls out its OAuth server once (oc get co authentication)"
