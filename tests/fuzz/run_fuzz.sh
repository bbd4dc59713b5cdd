#!/usr/bin/env bash
# Runs the parser fuzzer for a bounded time over a seed corpus made from the
# grammar corpus, the examples and the stdlib. Fails on any crash, leak,
# timeout or broken formatter contract; exit 77 (skip) without a fuzzer.
set -euo pipefail
fuzzer=$1 seconds=$2 dict=$3 source_dir=$4

if [[ -z "$fuzzer" ]]; then
  echo "SKIP: the parser fuzzer needs clang (configure with CXX=clang++-19 and FSPOL_FUZZ=ON)"
  exit 77
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/corpus" "$work/seeds"
find "$source_dir/grammar/corpus" "$source_dir/examples" "$source_dir/stdlib" \
  -name '*.fspol' -exec cp {} "$work/seeds/" \;
echo "fuzz: $(ls "$work/seeds" | wc -l) seed files, $seconds s"

cd "$work"
status=0
"$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
  -dict="$dict" -print_final_stats=1 -artifact_prefix="$work/" \
  corpus seeds >"$work/log" 2>&1 || status=$?
grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb)|ERROR|SUMMARY' "$work/log" || true
if ((status != 0)); then
  echo "fuzz: FAILED (exit $status); log tail:"
  tail -n 60 "$work/log"
  for crash in "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*; do
    [[ -e "$crash" ]] || continue
    keep="${TMPDIR:-/tmp}/fspol-$(basename "$crash")"
    cp "$crash" "$keep"
    echo "fuzz: reproducer kept at $keep"
  done
  exit 1
fi
echo "fuzz: clean"
