#!/usr/bin/env bash
# Build restic from its Go module into a cache outside the checkout, once per version.
# Debian's restic is too old (no exit codes 10-12), and no prebuilt binary may be downloaded,
# so we compile the pinned release. Prints the path of the directory holding `restic`.
set -euo pipefail
version="${RESTIC_VERSION:-0.18.1}"
cache="${PYVOLSYNC_CACHE:-$HOME/.cache/pyvolsync}"
target="$cache/restic-$version"
if [ ! -x "$target/restic" ]; then
    echo "building restic v$version into $target (first time only)" >&2
    mkdir -p "$target.tmp"
    CGO_ENABLED=0 GOBIN="$target.tmp" GOFLAGS=-buildvcs=false \
        go install -trimpath "github.com/restic/restic/cmd/restic@v$version" >&2
    rm -rf "$target"
    mv "$target.tmp" "$target"
fi
echo "$target"
