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
# 4. With ATTENDEE_GROUP set (openshift/extras/attendee-group), in either mode: creates that Group
#    (user.openshift.io, cluster-wide), empty and labelled as this event's, when it is missing, and leaves
#    one of this event's as it is; a Group of that name that is not this event's is refused (the app would
#    rewrite its users). `--remove` deletes it when it is this event's.
#
# With IDENTITY_PROVIDER_TYPE=BasicAuth (openshift/extras/basic-auth: instant logins), steps 2 and 3 are
# instead: copy the service CA (which signs the app's serving certificate) into a ConfigMap in
# openshift-config under ca.crt, only when it changed; make the OAuth server's client certificate (its
# own CA, ClientAuth, two years; a new one within 30 days of its end) as a tls Secret there, and that CA
# for the app in its namespace; append a BasicAuth provider (mappingMethod claim) asking
# https://workshop-registration.<namespace>.svc:8080/api/v1/basic-auth, with the same care. Run it again
# after the service CA rotates (oc get co service-ca), so that the OAuth server trusts the new one.
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

# The providers, one per line: name, type, mappingMethod (empty means claim), the htpasswd Secret, the
# BasicAuth remote's URL.
providers() {
  "$oc" get oauth cluster -o jsonpath='{range .spec.identityProviders[*]}{.name}{"\t"}{.type}{"\t"}{.mappingMethod}{"\t"}{.htpasswd.fileData.name}{"\t"}{.basicAuth.url}{"\n"}{end}'
}

# Patch OAuth/cluster with the JSON patch that `$1` (a function) puts in $patch, having read its
# resourceVersion into $version first (the patch tests it), retried on a concurrent change; the function
# returns 1, having said why, when there is nothing to do. `$2`: what to say once it is done.
patch_oauth() {
  attempt=0
  while :; do
    attempt=$((attempt + 1))
    version=$("$oc" get oauth cluster -o jsonpath='{.metadata.resourceVersion}')
    $1 || return 0
    if "$oc" patch oauth cluster --type=json -p "$patch" >/dev/null; then
      echo "$2"
      return 0
    fi
    [ "$attempt" -lt 5 ] || { echo "could not update OAuth/cluster after $attempt attempts" >&2; exit 1; }
    sleep 2
  done
}

# Append one provider to OAuth/cluster unless `$1` (a command) says it is there, never touching or
# reordering the others.
append_provider() {
  present=$1 idp=$2
  patch_oauth append_patch "identity provider $provider added to OAuth/cluster"
}

append_patch() {
  if $present; then
    echo "the identity provider $provider is there already: OAuth/cluster left as it is"
    return 1
  fi
  current=$("$oc" get oauth cluster -o jsonpath='{.spec.identityProviders}')
  if [ -n "$current" ] && [ "$current" != "[]" ]; then
    add="{\"op\":\"add\",\"path\":\"/spec/identityProviders/-\",\"value\":$idp}"
  else
    add="{\"op\":\"add\",\"path\":\"/spec/identityProviders\",\"value\":[$idp]}"
  fi
  patch="[{\"op\":\"test\",\"path\":\"/metadata/resourceVersion\",\"value\":\"$version\"},$add]"
}

# Remove the provider named $provider of type `$1` (and, for BasicAuth, URL `$2`) from OAuth/cluster.
remove_provider() {
  kind=$1 where=$2
  patch_oauth remove_patch "identity provider $provider removed from OAuth/cluster"
}

remove_patch() {
  index=$(providers | awk -F '\t' -v p="$provider" -v t="$kind" -v w="$where" \
    '$1 == p && $2 == t && (t == "HTPasswd" ? $4 : $5) == w {print NR - 1; exit}')
  [ -n "$index" ] || { echo "no identity provider $provider of this event: OAuth/cluster left as it is"; return 1; }
  patch="[{\"op\":\"test\",\"path\":\"/metadata/resourceVersion\",\"value\":\"$version\"},{\"op\":\"test\",\"path\":\"/spec/identityProviders/$index/name\",\"value\":\"$provider\"},{\"op\":\"remove\",\"path\":\"/spec/identityProviders/$index\"}]"
}

ours() {  # whether object `$1` named `$2` in namespace `$3` is labelled as this event's
  [ "$("$oc" get "$1" "$2" -n "$3" -o 'jsonpath={.metadata.labels.workshop-registration/event}' 2>/dev/null)" = "$namespace" ]
}
exists() { "$oc" get "$1" "$2" -n "$3" -o name >/dev/null 2>&1; }
labelled() {  # a manifest on stdin, labelled as this event's, applied
  "$oc" label --local -f - -o yaml app.kubernetes.io/part-of=workshop-registration \
    "workshop-registration/event=$namespace" | "$oc" apply -f - >/dev/null
}

# 4. The attendees' Group (ATTENDEE_GROUP): checked before anything changes, made after, in both modes.
group="$(setting ATTENDEE_GROUP)"
groups=groups.user.openshift.io
group_check() {
  [ -n "$group" ] || return 0
  answer=$("$oc" auth can-i create "$groups" 2>/dev/null) || true
  [ "$answer" = yes ] || fail "you may not create groups (oc auth can-i: ${answer:-no answer from the cluster})" \
    "log in as a cluster admin, or remove ATTENDEE_GROUP (openshift/extras/attendee-group), and run this again"
  if exists "$groups" "$group" "$namespace" && ! ours "$groups" "$group" "$namespace"; then
    refuse "the Group $group exists and is not this event's: the app would rewrite its users;" \
           "choose another ATTENDEE_GROUP (openshift/extras/attendee-group/kustomization.yaml) and re-apply," \
           "or, if it is meant for this event: oc label group $group workshop-registration/event=$namespace"
  fi
}
group_make() {
  [ -n "$group" ] || return 0
  if ours "$groups" "$group" "$namespace"; then
    echo "group $group exists, this event's: left as it is"
    return 0
  fi
  # Created, never applied: a Group someone made since the check is refused by the server, not adopted.
  printf '{"apiVersion":"user.openshift.io/v1","kind":"Group","metadata":{"name":"%s","labels":{"app.kubernetes.io/part-of":"workshop-registration","workshop-registration/event":"%s"}},"users":[]}' \
    "$group" "$namespace" | "$oc" create -f - >/dev/null
  echo "group $group created (empty), this event's own; the app keeps its users (oc adm policy add-role-to-group edit $group -n <namespace>)"
}
group_remove() {
  [ -n "$group" ] || return 0
  if ours "$groups" "$group" "$namespace"; then
    "$oc" delete "$groups" "$group" >/dev/null && echo "group $group deleted"
  elif exists "$groups" "$group" "$namespace"; then
    echo "group $group is not this event's: left as it is"
  fi
}

if [ "$(setting IDENTITY_PROVIDER_TYPE)" = BasicAuth ]; then
  # BasicAuth (openshift/extras/basic-auth): the OAuth server asks the app over TLS, with a client
  # certificate the app verifies. Objects in openshift-config: that certificate (a tls Secret) and the
  # service CA that signs the app's serving certificate (a ConfigMap, key ca.crt).
  url="https://workshop-registration.$namespace.svc:8080/api/v1/basic-auth"
  client="workshop-registration-oauth-client.$namespace"
  ca_map="workshop-registration-service-ca.$namespace"
  if [ "$remove" = true ]; then
    group_remove
    remove_provider BasicAuth "$url"
    for object in "secret $client" "configmap $ca_map"; do
      # shellcheck disable=SC2086 # kind and name
      if ours $object "$config"; then "$oc" delete $object -n "$config" >/dev/null && echo "$object deleted"; fi
    done
    echo "attendees' Users and Identities: python -m app cleanup (see docs/instructors.md)"
    exit 0
  fi
  clash=$(providers | awk -F '\t' -v p="$provider" -v u="$url" '$1 == p && !($2 == "BasicAuth" && $5 == u) {print $2}')
  [ -z "$clash" ] || refuse "an identity provider named $provider already exists ($clash), not this event's BasicAuth remote"
  for object in "secret $client" "configmap $ca_map"; do
    # shellcheck disable=SC2086
    if exists $object "$config" && ! ours $object "$config"; then
      refuse "$object exists in $config and is not this event's"
    fi
  done
  group_check
  command -v openssl >/dev/null 2>&1 || fail "the setup makes the OAuth server's client certificate with openssl" \
    "install openssl and run this again"
  work=$(mktemp -d) && trap 'rm -rf "$work"' EXIT

  # 1. The service CA, copied under ca.crt, and written only when it changed: each change of it rolls
  #    the OAuth server out.
  tries=0
  while :; do
    "$oc" get configmap workshop-registration-service-ca -n "$namespace" -o 'jsonpath={.data.service-ca\.crt}' \
      > "$work/service-ca.crt" 2>/dev/null || true
    [ ! -s "$work/service-ca.crt" ] || break
    tries=$((tries + 1))
    [ "$tries" -lt 60 ] || fail "the service CA was not injected into configmap workshop-registration-service-ca in $namespace" \
      "check: oc get co service-ca; oc get configmap workshop-registration-service-ca -n $namespace -o yaml"
    sleep 2
  done
  current=$("$oc" get configmap "$ca_map" -n "$config" -o 'jsonpath={.data.ca\.crt}' 2>/dev/null || true)
  if [ "$current" = "$(cat "$work/service-ca.crt")" ]; then
    echo "configmap $config/$ca_map holds the service CA: left as it is"
  else
    "$oc" create configmap "$ca_map" -n "$config" --from-file=ca.crt="$work/service-ca.crt" --dry-run=client -o yaml \
      | labelled
    echo "configmap $config/$ca_map: the service CA, copied"
  fi

  # 2. The OAuth server's client certificate (ClientAuth, two years), and its CA for the app; a new pair
  #    when there is none or it ends within 30 days. The CA's key is never kept: a new one signs the next.
  "$oc" get secret "$client" -n "$config" -o 'jsonpath={.data.tls\.crt}' 2>/dev/null | openssl base64 -d -A \
    > "$work/current.crt" 2>/dev/null || true
  if ours secret "$client" "$config" && exists configmap workshop-registration-oauth-client-ca "$namespace" \
     && openssl x509 -in "$work/current.crt" -noout -checkend 2592000 >/dev/null 2>&1; then
    echo "secret $config/$client holds a client certificate valid for 30 days more: left as it is"
  else
    printf '[client]\nbasicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature, keyEncipherment\nextendedKeyUsage = clientAuth\n' \
      > "$work/client.cnf"
    openssl req -x509 -newkey rsa:2048 -nodes -days 731 -subj "/CN=workshop-registration $namespace OAuth client CA" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
      -keyout "$work/ca.key" -out "$work/ca.crt" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=openshift-oauth-server" -keyout "$work/tls.key" \
      -out "$work/client.csr" 2>/dev/null
    openssl x509 -req -in "$work/client.csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" -CAcreateserial -days 730 \
      -extfile "$work/client.cnf" -extensions client -out "$work/tls.crt" 2>/dev/null
    rm -f "$work/ca.key"
    "$oc" create secret tls "$client" -n "$config" --cert="$work/tls.crt" --key="$work/tls.key" --dry-run=client \
      -o yaml | labelled
    "$oc" create configmap workshop-registration-oauth-client-ca -n "$namespace" --from-file=ca.crt="$work/ca.crt" \
      --dry-run=client -o yaml | labelled
    echo "secret $config/$client: a new client certificate for the OAuth server; the app trusts its CA"
    "$oc" rollout restart deployment/workshop-registration -n "$namespace" >/dev/null && \
      echo "the app restarts to load it (oc rollout status deploy/workshop-registration -n $namespace)"
  fi

  # 3. The provider.
  idp="{\"name\":\"$provider\",\"mappingMethod\":\"claim\",\"type\":\"BasicAuth\",\"basicAuth\":{\"url\":\"$url\",\"ca\":{\"name\":\"$ca_map\"},\"tlsClientCert\":{\"name\":\"$client\"},\"tlsClientKey\":{\"name\":\"$client\"}}}"
  basic_auth_present() {
    providers | awk -F '\t' -v p="$provider" -v u="$url" '$1 == p && $2 == "BasicAuth" && $5 == u {found = 1} END {exit !found}'
  }
  append_provider basic_auth_present "$idp"
  group_make
  echo "setup done: OpenShift rolls out its OAuth server once (oc get co authentication); after that, no registration does"
  exit 0
fi

if [ "$remove" = true ]; then
  group_remove
  if [ "$event_of_secret" != "$namespace" ] && \
     { [ "$event_of_secret" != "-missing-" ] || [ "$secret" != "workshop-registration-htpasswd.$namespace" ]; }; then
    echo "secret $config/$secret is not this event's own: it and the provider reading it are left as they are"
    exit 0
  fi
  remove_provider HTPasswd "$secret"
  "$oc" delete secret "$secret" -n "$config" --ignore-not-found >/dev/null
  echo "secret $config/$secret deleted; attendees' Users and Identities: python -m app cleanup (see docs/instructors.md)"
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
group_check

if [ "$event_of_secret" = "-missing-" ]; then
  printf '{"apiVersion":"v1","kind":"Secret","type":"Opaque","metadata":{"name":"%s","namespace":"%s","labels":{"app.kubernetes.io/part-of":"workshop-registration","workshop-registration/event":"%s"}},"data":{"htpasswd":""}}' \
    "$secret" "$config" "$namespace" | "$oc" create -f - >/dev/null
  echo "secret $config/$secret created (empty), this event's own"
else
  echo "secret $config/$secret exists: left as it is"
fi

idp="{\"name\":\"$provider\",\"mappingMethod\":\"claim\",\"type\":\"HTPasswd\",\"htpasswd\":{\"fileData\":{\"name\":\"$secret\"}}}"
htpasswd_present() {
  providers | awk -F '\t' -v s="$secret" '$2 == "HTPasswd" && $4 == s {found = 1} END {exit !found}'
}
append_provider htpasswd_present "$idp"
group_make
echo "setup done: OpenShift now rolls out its OAuth server once (oc get co authentication)"
