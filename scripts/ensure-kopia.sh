#!/usr/bin/env bash
# Build kopia from its Go module into a cache outside the checkout, once per version. No
# prebuilt binary may be downloaded, so we compile the pinned release (scripts/go-wrapper-build.sh
# says how). Prints the path of the directory holding `kopia`.
set -euo pipefail
version="${KOPIA_VERSION:-0.23.1}"
cache="${PYVOLSYNC_CACHE:-$HOME/.cache/pyvolsync}"
target="$cache/kopia-$version"
if [ ! -x "$target/kopia" ]; then
    echo "building kopia v$version into $target (first time only, a few minutes)" >&2
    rm -rf "$target.tmp"
    mkdir -p "$target.tmp"
    "$(dirname "$0")/go-wrapper-build.sh" github.com/kopia/kopia "v$version" \
        github.com/kopia/kopia "$target.tmp/kopia" >&2
    rm -rf "$target"
    mv "$target.tmp" "$target"
fi
echo "$target"
