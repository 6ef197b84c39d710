#!/usr/bin/env bash
# Builds the pinned control-plane binaries that are missing from the cache, and only those.
#
# There is no way to download release binaries here, so everything comes from Go modules:
# kube-apiserver, kube-controller-manager and kubectl from the k8s/ tool module, etcd from the
# etcd/ tool module, kustomize with a plain `go install` (its go.mod has no replace directives),
# and the snapshot CRDs copied out of the downloaded k8s.io/kubernetes module.
# Each part is built into a temporary directory and moved into place when complete, so an
# interrupted build is redone rather than half-used. Prints the cache directory.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"
cache="${PYVOLSYNC_CACHE:-$HOME/.cache/pyvolsync}"
k8s_dir="$cache/k8s-v$K8S_VERSION"
etcd_dir="$cache/etcd-v$ETCD_VERSION"
kustomize_dir="$cache/kustomize-v$KUSTOMIZE_VERSION"
export CGO_ENABLED=0
# -buildvcs=false: the binaries must not depend on the state of this checkout.
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-trimpath -buildvcs=false"
# The cores are shared with test runs; a build must not starve them.
build_nice="nice -n 10"

log() { echo "localcluster-bin: $*" >&2; }

timed() {
  local started=$SECONDS
  "$@"
  log "$1 took $((SECONDS - started)) s"
}

# Version variables that k8s.io/kubernetes' own build (hack/lib/version.sh) sets, so that
# /version and `kubectl version` report the release instead of v0.0.0-master.
kubernetes_ldflags() {
  local minor="${K8S_VERSION#1.}"
  minor="${minor%%.*}"
  local flags="-s -w"
  local package key value
  for package in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
    for key in gitVersion=v$K8S_VERSION gitMajor=1 gitMinor=$minor gitTreeState=clean \
      buildDate=1970-01-01T00:00:00Z; do
      value="${key#*=}"
      flags+=" -X $package.${key%%=*}=$value"
    done
  done
  echo "$flags"
}

build_kubernetes() {
  local staging="$k8s_dir.partial"
  rm -rf "$staging" && mkdir -p "$staging"
  (cd "$here/k8s" && GOBIN="$staging" $build_nice go install -tags selinux,notest \
    -ldflags "$(kubernetes_ldflags)" tool)
  mkdir -p "$k8s_dir"
  mv "$staging"/kube-apiserver "$staging"/kube-controller-manager "$staging"/kubectl "$k8s_dir"/
  rmdir "$staging"
}

copy_snapshot_crds() {
  local module_dir
  module_dir="$(cd "$here/k8s" && go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["Dir"])')"
  mkdir -p "$k8s_dir/crds.partial"
  cp "$module_dir"/cluster/addons/volumesnapshots/crd/snapshot.storage.k8s.io_*.yaml \
    "$k8s_dir/crds.partial/"
  chmod u+w "$k8s_dir"/crds.partial/*
  mv "$k8s_dir/crds.partial" "$k8s_dir/crds"
}

build_etcd() {
  mkdir -p "$etcd_dir"
  (cd "$here/etcd" && $build_nice go build -ldflags "-s -w" -o "$etcd_dir/etcd.partial" \
    go.etcd.io/etcd/server/v3)
  mv "$etcd_dir/etcd.partial" "$etcd_dir/etcd"
}

build_kustomize() {
  local staging="$kustomize_dir.partial"
  rm -rf "$staging" && mkdir -p "$staging"
  # Run outside any module so that `go install pkg@version` resolves the release alone.
  (cd "$staging" && GOBIN="$staging" $build_nice go install -ldflags "-s -w" \
    "sigs.k8s.io/kustomize/kustomize/v5@v$KUSTOMIZE_VERSION")
  mkdir -p "$kustomize_dir"
  mv "$staging/kustomize" "$kustomize_dir/"
  rmdir "$staging"
}

missing() {
  local path
  for path in "$@"; do
    [[ -e "$path" ]] || return 0
  done
  return 1
}

if missing "$etcd_dir/etcd"; then timed build_etcd; fi
if missing "$k8s_dir/kube-apiserver" "$k8s_dir/kube-controller-manager" "$k8s_dir/kubectl"; then
  timed build_kubernetes
fi
if missing "$k8s_dir/crds"; then timed copy_snapshot_crds; fi
if missing "$kustomize_dir/kustomize"; then timed build_kustomize; fi
echo "$cache"
