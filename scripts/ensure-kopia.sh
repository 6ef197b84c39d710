#!/usr/bin/env bash
# Build kopia from its Go module into a cache outside the checkout, once per version.
# No prebuilt binary may be downloaded, so we compile the pinned release. `go install
# github.com/kopia/kopia@vX` reads the module's version list (for deprecation notices), which
# the module proxy refuses here; a throw-away wrapper module that requires the release and
# builds its root package works. Prints the path of the directory holding `kopia`.
set -euo pipefail
version="${KOPIA_VERSION:-0.23.1}"
cache="${PYVOLSYNC_CACHE:-$HOME/.cache/pyvolsync}"
target="$cache/kopia-$version"
if [ ! -x "$target/kopia" ]; then
    echo "building kopia v$version into $target (first time only, a few minutes)" >&2
    wrapper="$(mktemp -d)"
    trap 'rm -rf "$wrapper"' EXIT
    cat >"$wrapper/go.mod" <<MOD
module pyvolsync.local/kopiabuild

go 1.25

require github.com/kopia/kopia v$version
MOD
    rm -rf "$target.tmp"
    mkdir -p "$target.tmp"
    (cd "$wrapper" && CGO_ENABLED=0 GOFLAGS=-buildvcs=false \
        go build -mod=mod -trimpath -o "$target.tmp/kopia" github.com/kopia/kopia >&2)
    rm -rf "$target"
    mv "$target.tmp" "$target"
fi
echo "$target"
