#!/bin/sh
# Before `oc apply -k openshift/`: checks that this cluster can run the workshop registration app, and
# says how to fix what is missing. Read-only: it changes nothing. Run it as the admin who will apply:
#
#   sh openshift/preflight.sh
#
# Exit status: 0 ready, 1 blocked (the apply or the setup would not work, or would not be safe: fix what
# it says first), 2 ready with warnings. It renders openshift/ next to it (`oc kustomize`) for the
# namespace, the settings and the components enabled; HTPASSWD_SECRET_NAME / IDENTITY_PROVIDER_NAME in
# the environment override the settings. OC picks the client (default oc).
set -u

oc="${OC:-oc}"
here=$(dirname "$0")

blocked=0
warned=0
ok() { echo "ok       $*"; }
block() { blocked=1; echo "BLOCKED  $1"; shift; for line in "$@"; do echo "         $line"; done; }
warn() { warned=1; echo "WARNING  $1"; shift; for line in "$@"; do echo "         $line"; done; }
get() { "$oc" get "$@" 2>/dev/null; }

# 1. Logged in, with the rights the apply needs. It grants rights in openshift-config and on
#    OAuth/cluster, which only someone holding them may do: in practice, a cluster admin.
if ! answer=$("$oc" auth can-i '*' '*' --all-namespaces 2>&1); then
  case "$answer" in
    no*) block "you are logged in without cluster-admin rights: the apply creates ClusterRoles and grants rights in openshift-config" \
               "fix: log in as a cluster admin (oc login -u kubeadmin ...), or have one run the apply" ;;
    *) block "cannot reach the cluster: $(printf '%s' "$answer" | head -n 1)" "fix: oc login <API URL> as a cluster admin" ;;
  esac
  echo "blocked: nothing else can be checked without the cluster"
  exit 1
fi
ok "logged in with cluster-admin rights"

# What the apply would create: the namespace, the settings and the optional components.
if ! rendered=$("$oc" kustomize "$here" 2>&1); then
  block "openshift/ does not render: $(printf '%s' "$rendered" | head -n 1)" "fix: check the edits in $here (oc kustomize $here)"
  echo "blocked: fix the BLOCKED lines above, then run this again"
  exit 1
fi
setting() {  # a value of the rendered settings ConfigMap (empty when not set)
  printf '%s\n' "$rendered" | awk -v key="$1" '
    function flush() { if (cm && named && value != "" && !said) { print value; said = 1 } cm = named = data = 0; value = "" }
    /^---$/ { flush(); next }
    /^kind: ConfigMap$/ { cm = 1 }
    /^  name: workshop-registration-settings$/ { named = 1 }
    /^data:$/ { data = 1; next }
    /^[^ ]/ { data = 0 }
    data && $1 == key ":" { v = $0; sub(/^[^:]*:[[:space:]]*/, "", v); gsub(/^["\047]|["\047]$/, "", v); value = v }
    END { flush() }'
}
namespace=$(printf '%s\n' "$rendered" | awk '/^kind: ServiceAccount$/ {sa = 1} sa && /^  namespace:/ {print $2; exit}')
secret="${HTPASSWD_SECRET_NAME:-$(setting HTPASSWD_SECRET_NAME)}"
secret="${secret:-workshop-registration-htpasswd.$namespace}"
shared=$(setting HTPASSWD_SECRET_SHARED | tr 'A-Z' 'a-z')
provider="${IDENTITY_PROVIDER_NAME:-$(setting IDENTITY_PROVIDER_NAME)}"
provider="${provider:-workshop}"
type=$(setting IDENTITY_PROVIDER_TYPE)
type="${type:-HTPasswd}"

# 2. The app's namespace. Any person may request a project of a free name; whoever made the namespace
#    first is its admin and would hold the app's token (and every attendee's data).
if ! get namespace "$namespace" -o name >/dev/null; then
  ok "the namespace $namespace does not exist yet: the apply makes it"
else
  requester=$(get namespace "$namespace" -o 'jsonpath={.metadata.annotations.openshift\.io/requester}')
  part_of=$(get namespace "$namespace" -o 'jsonpath={.metadata.labels.app\.kubernetes\.io/part-of}')
  if [ -n "$requester" ]; then
    block "the namespace $namespace was made by a project request of $requester: that account is its admin and would hold the app's token" \
          "fix: if it is not yours, oc delete project $namespace and wait until it is gone (or choose another namespace in openshift/app/kustomization.yaml)" \
          "     if you made it on purpose, remove the RoleBindings you do not want there, then oc annotate namespace $namespace openshift.io/requester-"
  elif [ "$part_of" != workshop-registration ]; then
    block "the namespace $namespace exists and was not made by oc apply -k openshift/" \
          "fix: delete it (oc delete namespace $namespace), or choose another namespace in openshift/app/kustomization.yaml"
  else
    others=$(get rolebindings -n "$namespace" -o 'jsonpath={range .items[*]}{.metadata.name}{"\t"}{.metadata.labels.app\.kubernetes\.io/part-of}{"\t"}{.roleRef.name}{"\t"}{range .subjects[*]}{.kind}/{.name} {end}{"\n"}{end}' \
      | awk -F '\t' '$2 != "workshop-registration" && $1 !~ /^system:(image-pullers|image-builders|deployers)$/ && ($3 == "admin" || $3 == "edit") {sub(/ +$/, "", $4); print $4 " (" $3 ")"}' | tr '\n' ';' | sed 's/;$//; s/;/; /g')
    ok "the namespace $namespace was made by an earlier apply of openshift/"
    [ -z "$others" ] || echo "note     these hold admin or edit in $namespace, and so the app's token: $others"
  fi
fi
if get namespace "$namespace-setup" -o name >/dev/null; then
  warn "the namespace $namespace-setup is left from an earlier version, whose setup Job ran there" \
       "fix: oc delete namespace $namespace-setup   (the setup is now openshift/setup.sh, run as you)"
fi

# 3. The internal image registry: the build pushes the app's image to it. Bare-metal, vSphere and
#    single-node installs often start without it.
state=$(get configs.imageregistry.operator.openshift.io cluster -o 'jsonpath={.spec.managementState}')
registry_fix="fix (ephemeral cluster, images kept on the registry pod's emptyDir):"
registry_patch="oc patch configs.imageregistry.operator.openshift.io cluster --type merge -p '{\"spec\":{\"managementState\":\"Managed\",\"storage\":{\"emptyDir\":{}}}}'"
case "$state" in
  Managed) ok "the internal image registry is Managed" ;;
  Removed) block "the internal image registry is Removed: the build cannot push the app's image" \
                 "$registry_fix" "  $registry_patch" "then wait for: oc get co image-registry (AVAILABLE True)" ;;
  Unmanaged) warn "the internal image registry is Unmanaged: the build needs it running" \
                  "check: oc get pods -n openshift-image-registry" ;;
  "") block "the internal image registry is not installed (configs.imageregistry.operator.openshift.io/cluster is missing)" \
            "the app is built with S2I into an ImageStream: enable the ImageRegistry capability, or build elsewhere" ;;
  *) warn "the internal image registry's managementState is '$state'" "check: oc get co image-registry" ;;
esac

# 4. The S2I builder image.
tag_image() {  # the image an `openshift` namespace ImageStream tag resolves to (empty if not imported)
  get imagestream "$1" -n openshift -o "jsonpath={.status.tags[?(@.tag==\"$2\")].items[0].dockerImageReference}"
}
if [ -z "$(get imagestream python -n openshift -o 'jsonpath={.spec.tags[?(@.name=="3.12-ubi9")].name}')" ]; then
  block "the builder image stream tag python:3.12-ubi9 is missing in the openshift namespace" \
        "fix (connected cluster): oc import-image python:3.12-ubi9 --from=registry.access.redhat.com/ubi9/python-312:latest --confirm -n openshift" \
        "fix (disconnected): mirror registry.access.redhat.com/ubi9/python-312 and import it from your mirror the same way"
elif [ -z "$(tag_image python 3.12-ubi9)" ]; then
  block "python:3.12-ubi9 exists but has no image (its import failed, e.g. on a disconnected cluster)" \
        "check: oc describe istag python:3.12-ubi9 -n openshift" \
        "fix: mirror the image and re-import it: oc import-image python:3.12-ubi9 --from=<mirror>/ubi9/python-312 --confirm -n openshift"
else
  ok "the builder image python:3.12-ubi9 is imported"
fi

# 5. The identity provider, as the setup (openshift/setup.sh) will find things.
providers=$(get oauth cluster -o 'jsonpath={range .spec.identityProviders[*]}{.name}{"\t"}{.type}{"\t"}{.mappingMethod}{"\t"}{.htpasswd.fileData.name}{"\t"}{.basicAuth.url}{"\n"}{end}')
if [ "$type" = BasicAuth ]; then
  url="https://workshop-registration.$namespace.svc:8080/api/v1/basic-auth"
  clash=$(printf '%s\n' "$providers" | awk -F '\t' -v p="$provider" -v u="$url" '$1 == p && !($2 == "BasicAuth" && $5 == u) {print $2}')
  if [ -n "$clash" ]; then
    block "an identity provider named $provider already exists ($clash), not this event's BasicAuth remote" \
          "fix: pick another IDENTITY_PROVIDER_NAME in openshift/app/settings.yaml"
  else
    ok "instant logins (BasicAuth): the setup will add the identity provider $provider asking $url"
  fi
  if command -v openssl >/dev/null 2>&1; then
    ok "openssl is here: the setup makes the OAuth server's client certificate with it"
  else
    block "openssl is missing here: the setup makes the OAuth server's client certificate with it" \
          "fix: install openssl where you run openshift/setup.sh"
  fi
fi
[ "$type" = BasicAuth ] || {
event_of_secret=$(get secret "$secret" -n openshift-config -o 'jsonpath={.metadata.labels.workshop-registration/event}' || echo "-missing-")
if [ "$event_of_secret" != "-missing-" ] && [ "$event_of_secret" != "$namespace" ] && [ "$shared" != true ]; then
  block "the Secret openshift-config/$secret exists and is not this event's own: the setup will not add attendees to it" \
        "fix: use the event's own Secret (leave HTPASSWD_SECRET_NAME unset), or enable openshift/extras/shared-htpasswd — whoever holds the app's token can then rewrite every line in it"
fi
readers=$(printf '%s\n' "$providers" | awk -F '\t' -v s="$secret" '$2 == "HTPasswd" && $4 == s')
others=$(printf '%s\n' "$providers" | awk -F '\t' -v s="$secret" '$2 == "HTPasswd" && $4 != s {print $1 " reads " $4}')
if [ -n "$readers" ]; then
  unsafe=$(printf '%s\n' "$readers" | awk -F '\t' '$3 != "" && $3 != "claim" {print $1 " (mappingMethod " $3 ")"}')
  if [ -n "$unsafe" ]; then
    block "the identity provider $unsafe reads $secret: with add or lookup, an attendee registering an existing user's name becomes that user" \
          "fix: use the event's own Secret (leave HTPASSWD_SECRET_NAME unset), or set that provider's mappingMethod to claim"
  else
    ok "the identity provider $(printf '%s\n' "$readers" | cut -f 1 | head -n 1) already reads $secret (mappingMethod claim): the setup reuses it"
  fi
else
  clash=$(printf '%s\n' "$providers" | awk -F '\t' -v p="$provider" '$1 == p {print $2 " reading " ($4 == "" ? "no htpasswd Secret" : $4)}')
  if [ -n "$clash" ]; then
    block "an identity provider named $provider already exists ($clash), not reading $secret" \
          "fix: pick another IDENTITY_PROVIDER_NAME in openshift/app/settings.yaml"
  else
    ok "the setup will add the identity provider $provider reading openshift-config/$secret (mappingMethod claim)"
  fi
  if [ -n "$others" ]; then
    echo "note     other htpasswd providers exist ($(printf '%s' "$others" | tr '\n' ';' | sed 's/;$//; s/;/; /g')):" \
         "the event keeps its own Secret and provider (extras/shared-htpasswd would add attendees to one of them)"
  fi
fi
}

# 6. What the optional components need from the API server.
if printf '%s\n' "$rendered" | grep -q '^kind: ValidatingAdmissionPolicy$'; then
  if get --raw /apis/admissionregistration.k8s.io/v1 | grep -q '"validatingadmissionpolicies"'; then
    ok "ValidatingAdmissionPolicy is served (extras/remove-users limits the app to its own provider's Users with it)"
  else
    block "extras/remove-users needs ValidatingAdmissionPolicy (admissionregistration.k8s.io/v1, OpenShift 4.17 or newer), which this cluster does not serve" \
          "fix: disable extras/remove-users in openshift/kustomization.yaml: removing then prints the oc delete commands instead"
  fi
fi

# 7. The control plane: every htpasswd write rolls out the OAuth server; with one control-plane node
#    its only pod is replaced, and nobody can log in for a minute or two meanwhile.
nodes=$(get nodes -l node-role.kubernetes.io/control-plane -o name | grep -c .)
[ "$nodes" -gt 0 ] || nodes=$(get nodes -l node-role.kubernetes.io/master -o name | grep -c .)
topology=$(get infrastructure cluster -o 'jsonpath={.status.controlPlaneTopology}')
if { [ "$nodes" -eq 1 ] || [ "$topology" = "SingleReplica" ]; } && [ "$type" = BasicAuth ]; then
  ok "a single control-plane node, and instant logins (BasicAuth): no registration rolls the OAuth server out"
elif [ "$nodes" -eq 1 ] || [ "$topology" = "SingleReplica" ]; then
  warn "a single control-plane node: each write of the htpasswd Secret rolls out the OAuth server, and during each rollout (1-3 min) nobody can log in" \
       "recommended here: instant logins, which write nothing that rolls it out: enable extras/basic-auth in $here/kustomization.yaml" \
       "otherwise the app writes pending logins together, at most once per rollout; ask attendees to register early, all at once" \
       "watch: oc get co authentication; oc get pods -n openshift-authentication"
elif [ "$nodes" -eq 0 ]; then
  warn "no control-plane node is visible (oc get nodes -l node-role.kubernetes.io/control-plane): cannot tell whether logins pause during OAuth rollouts"
else
  ok "$nodes control-plane nodes: the OAuth server keeps serving logins during its rollouts"
fi

if [ "$blocked" -ne 0 ]; then
  echo "blocked: fix the BLOCKED lines above, then run this again"
  exit 1
elif [ "$warned" -ne 0 ]; then
  echo "ready, with warnings: oc apply -k $here/ && sh $here/setup.sh"
  exit 2
fi
echo "ready: oc apply -k $here/ && sh $here/setup.sh"
exit 0
