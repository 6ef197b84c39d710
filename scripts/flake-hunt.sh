#!/usr/bin/env bash
# The flake hunt (docs/testing.md): full CI runs, each in a fresh clone, then the cluster-backed
# suites again in one clone while a busy loop takes one of the machine's cores. Every run is one
# line of the summary: what ran, how long, its exit code and pytest's closing line.
#   scripts/flake-hunt.sh [FULL_RUNS] [STRESSED_RUNS]     (defaults: 3 and 2)
# Logs stay in $HUNT_DIR (default: a new directory under /tmp).
set -uo pipefail
full_runs="${1:-3}"
stressed_runs="${2:-2}"
source_repository="$(cd "$(dirname "$0")/.." && pwd)"
hunt="${HUNT_DIR:-$(mktemp -d /tmp/pyvolsync-flake-hunt.XXXXXX)}"
export PATH="/usr/local/go/bin:$PATH"
summary="$hunt/summary.txt"
cluster_suites=(tests/integration tests/e2e tests/chaos tests/security)

closing_line() {
    grep -E '^(=+ )?[0-9]+ (passed|failed)|(passed|failed|error).* in [0-9.]+s' "$1" | tail -1
}

record() {  # name, seconds, exit code, log
    printf '%s\t%ss\trc=%s\t%s\n' "$1" "$2" "$3" "$(closing_line "$4")" | tee -a "$summary"
}

fresh_clone() {
    rm -rf "$1" && git clone --quiet "$source_repository" "$1"
}

for run in $(seq 1 "$full_runs"); do
    clone="$hunt/full-$run"
    fresh_clone "$clone"
    started=$(date +%s)
    (cd "$clone" && CI=true bash .ci/run) > "$hunt/full-$run.log" 2>&1 < /dev/null
    code=$?
    record "full run $run (CI=true bash .ci/run)" "$(( $(date +%s) - started ))" "$code" "$hunt/full-$run.log"
done

clone="$hunt/stressed"
fresh_clone "$clone"
(cd "$clone" && make tools localcluster-bin > "$hunt/stressed-setup.log" 2>&1)
for run in $(seq 1 "$stressed_runs"); do
    python3 -c 'while True: pass' &
    busy=$!
    started=$(date +%s)
    (cd "$clone" && PATH="$HOME/.cache/pyvolsync/restic-${RESTIC_VERSION:-0.18.1}:$HOME/.cache/pyvolsync/kopia-${KOPIA_VERSION:-0.23.1}:$clone/.venv/bin:$PATH" \
        .venv/bin/python -m pytest -p no:cacheprovider "${cluster_suites[@]}") \
        > "$hunt/stressed-$run.log" 2>&1 < /dev/null
    code=$?
    kill "$busy"
    wait "$busy" 2>/dev/null
    record "stressed run $run (${cluster_suites[*]} + a busy core)" "$(( $(date +%s) - started ))" "$code" "$hunt/stressed-$run.log"
done
echo "logs and summary: $hunt"
