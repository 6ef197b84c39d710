#!/usr/bin/env bash
# Regenerates the Go tool modules k8s/ and etcd/ (go.mod, go.sum) for the versions in versions.env.
#
# k8s.io/kubernetes requires its staging modules at v0.0.0 and maps them to ./staging with
# replace directives that only apply when it is the main module. This tool module therefore
# replaces every staging module with its published v0.X.Y tag. The list is taken from the
# go.mod of the downloaded release, so it follows releases that add or drop staging modules.
# etcd is a separate module so that minimal version selection cannot move the versions of
# grpc, otel or the etcd client that Kubernetes was released with.
# Run it only when changing a version; the result is committed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"
pin_kubernetes() {
  cd "$here/k8s"
  rm -f go.mod go.sum
  go mod init pyvolsync.invalid/localcluster/k8s >/dev/null 2>&1
  upstream_mod="$(go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["GoMod"])')"
  go_line="$(sed -n 's/^go \(.*\)$/\1/p' "$upstream_mod")"
  godebug_line="$(sed -n 's/^godebug \(.*\)$/\1/p' "$upstream_mod")"
  go mod edit -go="$go_line"
  if [[ -n "$godebug_line" ]]; then go mod edit -godebug="$godebug_line"; fi
  staging_tag="v0.${K8S_VERSION#1.}"
  for module in $(sed -n 's|^\s*\(k8s.io/[^ ]*\) => ./staging/src/k8s.io/.*|\1|p' "$upstream_mod"); do
    go mod edit "-replace=$module=$module@$staging_tag"
  done
  go get -tool \
    "k8s.io/kubernetes/cmd/kube-apiserver@v$K8S_VERSION" \
    "k8s.io/kubernetes/cmd/kube-controller-manager@v$K8S_VERSION" \
    "k8s.io/kubernetes/cmd/kubectl@v$K8S_VERSION"
  go mod tidy
  echo "pinned k8s.io/kubernetes v$K8S_VERSION with $(grep -c '=> k8s.io/' go.mod) staging replaces"
}

pin_etcd() {
  cd "$here/etcd"
  rm -f go.mod go.sum
  go mod init pyvolsync.invalid/localcluster/etcd >/dev/null 2>&1
  go get -tool "go.etcd.io/etcd/server/v3@v$ETCD_VERSION"
  go mod tidy
  echo "pinned go.etcd.io/etcd/server/v3 v$ETCD_VERSION"
}

case "${1:-all}" in
  k8s) pin_kubernetes ;;
  etcd) pin_etcd ;;
  all) pin_kubernetes; pin_etcd ;;
  *) echo "usage: $0 [k8s|etcd|all]" >&2; exit 2 ;;
esac
