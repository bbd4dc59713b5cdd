#!/usr/bin/env bash
# Runs one fuzzer for a bounded time over its seed corpus and fails on any
# crash, leak, timeout, out-of-memory or broken contract; exit 77 (skip)
# without a fuzzer. Seeds: the parser's are the grammar corpus, the
# examples and the stdlib; the protocol's are written by protocol_seeds.py.
# protocol_filters is the protocol fuzzer with the daemon serving as in
# fuse-bpf mode (FSPOL_FUZZ_FILTERS=1: the kernel's filter requests too).
#
#   run_fuzz.sh parser|protocol|protocol_filters FUZZER SECONDS SOURCE_DIR [CORPUS_DIR]
#
# CORPUS_DIR keeps what the run learnt (tests/fuzz/run-long.sh); by
# default a temporary one is used and removed.
set -euo pipefail
target=$1 fuzzer=$2 seconds=$3 source_dir=$4 corpus=${5:-}

if [[ -z "$fuzzer" ]]; then
  echo "SKIP: the $target fuzzer needs clang (configure with CXX=clang++-19 and FSPOL_FUZZ=ON)"
  exit 77
fi

work=$(mktemp -d)
# The protocol fuzzer's lower tree: a tmpfs, removed here even when the
# fuzzer dies.
FSPOL_FUZZ_TMPDIR=$(mktemp -d -p /dev/shm)
export FSPOL_FUZZ_TMPDIR
trap 'rm -rf "$work" "$FSPOL_FUZZ_TMPDIR"' EXIT
mkdir "$work/seeds"
case $target in
  parser)
    find "$source_dir/grammar/corpus" "$source_dir/examples" "$source_dir/stdlib" \
      -name '*.fspol' -exec cp {} "$work/seeds/" \;
    dict=$source_dir/tests/fuzz/fspol.dict
    ;;
  protocol|protocol_filters)
    python3 "$source_dir/tests/fuzz/protocol_seeds.py" "$work/seeds"
    dict=$source_dir/tests/fuzz/protocol.dict
    if [[ $target == protocol_filters ]]; then
      export FSPOL_FUZZ_FILTERS=1
    fi
    ;;
  *) echo "run_fuzz.sh: unknown target $target" >&2; exit 2 ;;
esac
if [[ -z "$corpus" ]]; then
  corpus=$work/corpus
fi
mkdir -p "$corpus"
echo "fuzz $target: $(ls "$work/seeds" | wc -l) seed files, $(ls "$corpus" | wc -l) in the corpus, $seconds s"

cd "$work"
status=0
# -timeout: a hang, not a slow input; the slowest seed (the formatter's
# wrap test) takes 4 s of CPU instrumented, more on a busy machine.
"$fuzzer" -max_total_time="$seconds" -timeout=30 -rss_limit_mb=2048 -max_len=8192 \
  -dict="$dict" -print_final_stats=1 -artifact_prefix="$work/" \
  "$corpus" seeds >"$work/log" 2>&1 || status=$?
grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb)|ERROR|SUMMARY' "$work/log" || true
# The last status line: coverage (edges), features and corpus size.
grep -E '^#[0-9]+' "$work/log" | tail -n 1 || true
if ((status != 0)); then
  echo "fuzz $target: FAILED (exit $status); log tail:"
  tail -n 60 "$work/log"
  for crash in "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*; do
    [[ -e "$crash" ]] || continue
    keep="${TMPDIR:-/tmp}/fspol-$target-$(basename "$crash")"
    cp "$crash" "$keep"
    echo "fuzz $target: reproducer kept at $keep (run: $fuzzer $keep)"
  done
  exit 1
fi
echo "fuzz $target: clean"
