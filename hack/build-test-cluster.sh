#!/usr/bin/env bash
# Builds kube-apiserver and etcd from Go modules for the test cluster, once per machine.
#
# No container engine runs here and only package registries are reachable, so kind/envtest are out:
# the binaries come from the Go module proxy. A throw-away wrapper module under the cache folder
# requires k8s.io/kubernetes and maps each staging module (required at v0.0.0, its own replace lines
# being ignored for a dependency) to the matching v0.N.P release. Nothing here lands in the repository.
#
# The OpenShift CRDs the tests install (OAuth, Route, Infrastructure, Console, Ingress, the image
# registry's Config) come from the openshift/api Go module at a pinned pseudo-version (the proxy does
# not resolve branch names).
#
# Usage: hack/build-test-cluster.sh   prints the folder holding bin/{kube-apiserver,etcd} and crds/
# Env:   KUBE_VERSION (default v1.37.2), TEST_CLUSTER_CACHE (default ~/.cache/workshop-registration)
set -euo pipefail

KUBE_VERSION=${KUBE_VERSION:-v1.37.2}
OPENSHIFT_API_VERSION=${OPENSHIFT_API_VERSION:-v0.0.0-20251015095338-264e80a2b6e7}
CACHE=${TEST_CLUSTER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/workshop-registration}
OUT="$CACHE/kube-$KUBE_VERSION"
BIN="$OUT/bin"
CRDS="$OUT/crds-$OPENSHIFT_API_VERSION"

# Bump CRD_SET when the list of CRDs below changes, so existing caches fetch the new ones.
CRD_SET=2
if [[ -x "$BIN/kube-apiserver" && -x "$BIN/etcd" && -f "$CRDS/.complete-$CRD_SET" ]]; then
  echo "$OUT"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  echo "error: the test cluster is built from Go modules and 'go' is not on PATH." >&2
  echo "       Install Go 1.26 or newer (https://go.dev/doc/install, or Debian's golang-1.26) and run again." >&2
  exit 3
fi

log() { echo "build-test-cluster: $*" >&2; }
mkdir -p "$OUT/src" "$BIN"
cd "$OUT/src"
export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=${GOTOOLCHAIN:-local}

if [[ ! -x "$BIN/kube-apiserver" || ! -x "$BIN/etcd" ]]; then

log "reading k8s.io/kubernetes@$KUBE_VERSION's go.mod"
gomod=$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",*$/\1/p')
minor=${KUBE_VERSION#v1.}           # 37.2
staging_version="v0.$minor"         # v0.37.2

{
  echo "module testcluster"
  echo
  echo "go $(sed -n 's/^go \([0-9.]*\)$/\1/p' "$gomod")"
  echo
  echo "require k8s.io/kubernetes $KUBE_VERSION"
  echo
  grep -E '^[[:space:]]+k8s\.io/[^ ]+ v0\.0\.0$' "$gomod" | awk -v v="$staging_version" '{print "replace " $1 " => " $1 " " v}'
} > go.mod
etcd_version=$(awk '$1 == "go.etcd.io/etcd/server/v3" {print $2}' "$gomod")
log "staging modules at $staging_version, etcd $etcd_version"

go get "k8s.io/kubernetes/cmd/kube-apiserver@$KUBE_VERSION" "go.etcd.io/etcd/server/v3@$etcd_version"

ldflags="-s -w"
for kv in "gitVersion=$KUBE_VERSION" "gitMajor=1" "gitMinor=${minor%%.*}"; do
  ldflags+=" -X k8s.io/component-base/version.$kv"
done
log "building kube-apiserver (minutes on a cold cache)"
go build -trimpath -ldflags "$ldflags" -o "$BIN/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver
log "building etcd"
go build -trimpath -ldflags "-s -w" -o "$BIN/etcd.tmp" go.etcd.io/etcd/server/v3
mv "$BIN/kube-apiserver.tmp" "$BIN/kube-apiserver"
mv "$BIN/etcd.tmp" "$BIN/etcd"
fi

if [[ ! -f "$CRDS/.complete-$CRD_SET" ]]; then
  log "fetching OpenShift CRDs from github.com/openshift/api@$OPENSHIFT_API_VERSION"
  api=$(go mod download -json "github.com/openshift/api@$OPENSHIFT_API_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')
  mkdir -p "$CRDS"
  manifests="$api/config/v1/zz_generated.crd-manifests"
  cp "$manifests/0000_10_config-operator_01_oauths.crd.yaml" \
     "$manifests/0000_10_config-operator_01_infrastructures-Default.crd.yaml" \
     "$manifests/0000_10_config-operator_01_consoles.crd.yaml" \
     "$manifests/0000_10_config-operator_01_ingresses.crd.yaml" \
     "$api/route/v1/zz_generated.crd-manifests/routes.crd.yaml" "$CRDS/"
  # The image registry's config (its managementState), for openshift/preflight.sh.
  cp "$api/imageregistry/v1/zz_generated.crd-manifests/00_configs.crd.yaml" "$CRDS/imageregistry-configs.crd.yaml"
  chmod 644 "$CRDS"/*.yaml
  touch "$CRDS/.complete-$CRD_SET"
fi
echo "$OUT"
