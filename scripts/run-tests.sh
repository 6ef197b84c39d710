#!/usr/bin/env bash
# `make test`: the whole suite as two pytest processes side by side, one per core.
#
# The cluster share (every test that uses the local control plane, and tests/e2e) mostly waits
# on API servers, Jobs and pods; the computing share (unit tests, the mover against real restic
# and kopia, the chart) mostly computes. Side by side they take about as long as the cluster
# share alone instead of the sum. `PYVOLSYNC_TEST_SHARE` picks a share (tests/conftest.py), so
# the two are complementary by construction. The cluster share prints as it goes; the computing
# share's output follows when both have ended; the exit status is the first failure's.
set -uo pipefail
cd "$(dirname "$0")/.."
python="${PYTHON:-.venv/bin/python}"
work="$(mktemp -d "${TMPDIR:-/tmp}/pyvolsync-tests.XXXXXX")"

# Upstream VolSync's operator, for the migration round trip near the end of the cluster share:
# built (cold machine only) while the suite runs; the test waits for it (the script holds a lock).
nice ./scripts/ensure-volsync-upstream.sh >"$work/volsync-build.log" 2>&1 &
upstream_build=$!

PYVOLSYNC_TEST_SHARE=computing "$python" -m pytest -p no:cacheprovider \
  --basetemp="$work/computing" >"$work/computing.log" 2>&1 &
computing=$!
PYVOLSYNC_TEST_SHARE=cluster "$python" -m pytest
cluster_status=$?
wait "$computing"
computing_status=$?
wait "$upstream_build"

echo
echo "=== the computing share (unit tests, the mover with real restic and kopia, the chart) ==="
cat "$work/computing.log"
if [ "$cluster_status" -ne 0 ] || [ "$computing_status" -ne 0 ]; then
  echo "make test failed: cluster share exit $cluster_status, computing share exit" \
    "$computing_status (the computing share's files: $work)" >&2
  exit $(( cluster_status != 0 ? cluster_status : computing_status ))
fi
rm -rf "$work"
