#!/usr/bin/env bash
# The long soak (docs/runtime.md, "Soak"): tests/runtime/soak_test.py for
# MINUTES per policy (examples/android-media.fspol, then
# examples/passthrough.fspol) with WORKERS parallel callers, every result
# compared with the model, a watchdog for hangs, the daemon's RSS and fds
# sampled every SAMPLE seconds (default: a twentieth of the run). Writes a
# markdown report (operations, ops/s, the RSS/fd series) to REPORT
# (default soak-report.md) and prints it. Exit status: the test's (0
# pass, 1 a mismatch, hang or leak, 77 skip).
#
# usage: bench/soak.sh MINUTES WORKERS [REPORT]
#   env: FSRUN (default build/bin/fsrun; fsc is taken from beside it),
#        SEED, POLICY (android-media, passthrough or both), OPTIONS (mount
#        options), SAMPLE (seconds)
# Needs root, /dev/fuse and fusermount3, like the runtime tests.
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 MINUTES WORKERS [REPORT]" >&2; exit 2; }
minutes=$1
workers=$2
report=${3:-soak-report.md}
case "$report" in /*) ;; *) report="$PWD/$report" ;; esac
cd "$(dirname "$0")/.."
export FSRUN=${FSRUN:-$PWD/build/bin/fsrun}
seconds=$(python3 -c "print(float('$minutes') * 60)")
args=(--seconds "$seconds" --workers "$workers" --policy "${POLICY:-both}" --report "$report")
[ -z "${SEED:-}" ] || args+=(--seed "$SEED")
[ -z "${OPTIONS:-}" ] || args+=(--options "$OPTIONS")
args+=(--sample "${SAMPLE:-$(python3 -c "print(max(5.0, $seconds / 20))")}")
status=0
python3 tests/runtime/soak_test.py "${args[@]}" || status=$?
[ ! -f "$report" ] || cat "$report"
exit $status
