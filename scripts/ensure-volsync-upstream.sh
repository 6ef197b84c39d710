#!/usr/bin/env bash
# Build upstream VolSync's operator (the release pyvolsync is a drop-in for) from its Go module
# into a cache outside the checkout, once per version, with the CRDs of the same release next to
# it: the migration round trip (tests/integration/upstream) runs it beside ours. About 3 min of
# two cores cold, an 85 MB binary. Prints the path of the directory holding `volsync` and `crds/`.
set -euo pipefail
version="${VOLSYNC_VERSION:-0.16.0}"
cache="${PYVOLSYNC_CACHE:-$HOME/.cache/pyvolsync}"
target="$cache/volsync-$version"
mkdir -p "$cache"
# One build at a time: make test starts one in the background and the test waits on this lock.
exec 9>"$cache/.volsync-$version.lock"
flock 9
if [ ! -x "$target/volsync" ]; then
    echo "building upstream VolSync v$version into $target (first time only, a few minutes)" >&2
    rm -rf "$target.tmp"
    mkdir -p "$target.tmp/crds"
    "$(dirname "$0")/go-wrapper-build.sh" github.com/backube/volsync "v$version" \
        github.com/backube/volsync/cmd "$target.tmp/volsync" \
        'config/crd/bases/volsync.backube_*.yaml' "$target.tmp/crds" >&2
    rm -rf "$target"
    mv "$target.tmp" "$target"
fi
echo "$target"
