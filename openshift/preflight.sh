#!/bin/sh
# Before `oc apply -k openshift/`: checks that this cluster can run the workshop registration app, and
# says how to fix what is missing. Read-only: it changes nothing. Run it as the admin who will apply:
#
#   sh openshift/preflight.sh
#
# Exit status: 0 ready, 1 blocked (the apply would not work: fix what it says first), 2 ready with
# warnings. It reads the Secret and provider names from openshift/app/settings.yaml next to it (or
# HTPASSWD_SECRET_NAME / IDENTITY_PROVIDER_NAME from the environment); OC picks the client (default oc).
set -u

oc="${OC:-oc}"
here=$(dirname "$0")
setting() {  # a value of openshift/app/settings.yaml, as `KEY: value` on one line
  sed -n "s/^[[:space:]]*$1:[[:space:]]*\"\{0,1\}\([^\"#]*\)\"\{0,1\}[[:space:]]*\(#.*\)\{0,1\}$/\1/p" \
    "$here/app/settings.yaml" 2>/dev/null | head -n 1 | sed 's/[[:space:]]*$//'
}
secret="${HTPASSWD_SECRET_NAME:-$(setting HTPASSWD_SECRET_NAME)}"
secret="${secret:-htpass-secret}"
provider="${IDENTITY_PROVIDER_NAME:-$(setting IDENTITY_PROVIDER_NAME)}"
provider="${provider:-workshop}"

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

# 2. The internal image registry: the build pushes the app's image to it and the setup Job pulls the
#    cluster's cli image through it. Bare-metal, vSphere and single-node installs often start without it.
state=$(get configs.imageregistry.operator.openshift.io cluster -o 'jsonpath={.spec.managementState}')
registry_fix="fix (ephemeral cluster, images kept on the registry pod's emptyDir):"
registry_patch="oc patch configs.imageregistry.operator.openshift.io cluster --type merge -p '{\"spec\":{\"managementState\":\"Managed\",\"storage\":{\"emptyDir\":{}}}}'"
case "$state" in
  Managed) ok "the internal image registry is Managed" ;;
  Removed) block "the internal image registry is Removed: the build cannot push the app's image and the setup Job cannot pull the cli image" \
                 "$registry_fix" "  $registry_patch" "then wait for: oc get co image-registry (AVAILABLE True)" ;;
  Unmanaged) warn "the internal image registry is Unmanaged: the build and the setup Job need it running" \
                  "check: oc get pods -n openshift-image-registry" ;;
  "") block "the internal image registry is not installed (configs.imageregistry.operator.openshift.io/cluster is missing)" \
            "the app is built with S2I into an ImageStream: enable the ImageRegistry capability, or build elsewhere" ;;
  *) warn "the internal image registry's managementState is '$state'" "check: oc get co image-registry" ;;
esac

# 3. The images the apply refers to: the S2I builder, and the cli image the setup Job runs.
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
if [ -z "$(tag_image cli latest)" ]; then
  block "the cli image (image stream cli:latest in openshift) is missing: the setup Job runs it" \
        "check: oc get is cli -n openshift   (it comes with every OpenShift release)"
else
  ok "the cli image for the setup Job is there"
fi

# 4. The identity providers already configured, against the Secret and provider name in the settings.
providers=$(get oauth cluster -o 'jsonpath={range .spec.identityProviders[*]}{.name}{"\t"}{.type}{"\t"}{.mappingMethod}{"\t"}{.htpasswd.fileData.name}{"\n"}{end}')
readers=$(printf '%s\n' "$providers" | awk -F '\t' -v s="$secret" '$2 == "HTPasswd" && $4 == s')
others=$(printf '%s\n' "$providers" | awk -F '\t' -v s="$secret" '$2 == "HTPasswd" && $4 != s {print $1 " reads " $4}')
if [ -n "$readers" ]; then
  unsafe=$(printf '%s\n' "$readers" | awk -F '\t' '$3 != "" && $3 != "claim" {print $1 " (mappingMethod " $3 ")"}')
  if [ -n "$unsafe" ]; then
    block "the identity provider $unsafe reads $secret: with add or lookup, an attendee registering an existing user's name becomes that user" \
          "fix: use a Secret of your own (HTPASSWD_SECRET_NAME in openshift/app/settings.yaml), or set that provider's mappingMethod to claim"
  else
    ok "the identity provider $(printf '%s\n' "$readers" | cut -f 1 | head -n 1) already reads $secret (mappingMethod claim): the setup reuses it"
  fi
else
  clash=$(printf '%s\n' "$providers" | awk -F '\t' -v p="$provider" '$1 == p {print $2 " reading " ($4 == "" ? "no htpasswd Secret" : $4)}')
  if [ -n "$clash" ]; then
    block "an identity provider named $provider already exists ($clash), not reading $secret" \
          "fix: pick another IDENTITY_PROVIDER_NAME, or set HTPASSWD_SECRET_NAME to the Secret it reads (both in openshift/app/settings.yaml)"
  else
    ok "the setup will add the identity provider $provider reading openshift-config/$secret (mappingMethod claim)"
  fi
  if [ -n "$others" ]; then
    echo "note     other htpasswd providers exist ($(printf '%s' "$others" | tr '\n' ';' | sed 's/;$//; s/;/; /g')):" \
         "to add attendees to one of them instead, set HTPASSWD_SECRET_NAME to the Secret it reads"
  fi
fi

# 5. The control plane: every htpasswd write rolls out the OAuth server; with one control-plane node
#    its only pod is replaced, and nobody can log in for a minute or two meanwhile.
nodes=$(get nodes -l node-role.kubernetes.io/control-plane -o name | grep -c .)
[ "$nodes" -gt 0 ] || nodes=$(get nodes -l node-role.kubernetes.io/master -o name | grep -c .)
topology=$(get infrastructure cluster -o 'jsonpath={.status.controlPlaneTopology}')
if [ "$nodes" -eq 1 ] || [ "$topology" = "SingleReplica" ]; then
  warn "a single control-plane node: each write of the htpasswd Secret rolls out the OAuth server, and during each rollout (1-3 min) nobody can log in" \
       "the app writes pending logins together, at most once per rollout (MAX_PUBLISH_DELAY); ask attendees to register early, all at once" \
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
  echo "ready, with warnings: oc apply -k $here/"
  exit 2
fi
echo "ready: oc apply -k $here/"
exit 0
