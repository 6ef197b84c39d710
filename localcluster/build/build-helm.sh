#!/usr/bin/env bash
# Builds the pinned Helm (used by the chart tests and docs/install.md) when it is missing from
# the cache. There are no release binaries to download here, so it comes from its Go module;
# helm's go.mod has no replace directives, so a plain `go install pkg@version` resolves it.
# Built into a temporary directory and moved into place when complete. Prints the helm path.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"
cache="${PYVOLSYNC_CACHE:-$HOME/.cache/pyvolsync}"
helm_dir="$cache/helm-v$HELM_VERSION"
export CGO_ENABLED=0
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-trimpath -buildvcs=false"

if [[ ! -x "$helm_dir/helm" ]]; then
  started=$SECONDS
  staging="$helm_dir.partial"
  rm -rf "$staging" && mkdir -p "$staging"
  # helm reports its version from this variable; without it `helm version` says v3.
  (cd "$staging" && GOBIN="$staging" nice -n 10 go install \
    -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=v$HELM_VERSION" \
    "helm.sh/helm/v3/cmd/helm@v$HELM_VERSION")
  mkdir -p "$helm_dir"
  mv "$staging/helm" "$helm_dir/"
  rmdir "$staging"
  echo "build-helm: helm v$HELM_VERSION took $((SECONDS - started)) s" >&2
fi
echo "$helm_dir/helm"
