#!/usr/bin/env bash
# Long fuzzing runs, outside the suite: each target for HOURS hours (default
# 1), with a corpus kept in CORPUS_ROOT/<target> (default
# $HOME/.cache/fspol-fuzz) so that runs build on each other. Reports
# executions, coverage and corpus size per target; exits non-zero on the
# first finding, whose reproducer it names.
#
#   tests/fuzz/run-long.sh [HOURS] [parser|protocol|protocol_filters ...]
#
# Needs a build with FSPOL_FUZZ=ON and clang (BUILD_DIR, default ./build).
set -euo pipefail
cd "$(dirname "$0")/../.."
hours=${1:-1}
shift || true
targets=("$@")
((${#targets[@]})) || targets=(parser protocol protocol_filters)
build_dir=${BUILD_DIR:-build}
corpus_root=${CORPUS_ROOT:-$HOME/.cache/fspol-fuzz}
seconds=$(awk -v h="$hours" 'BEGIN { printf "%d", h * 3600 }')

for target in "${targets[@]}"; do
  fuzzer=$(realpath -m "$build_dir/tests/fuzz/${target%_filters}_fuzzer")
  [[ -x "$fuzzer" ]] || { echo "run-long.sh: $fuzzer missing (build with FSPOL_FUZZ=ON)" >&2; exit 2; }
  mkdir -p "$corpus_root/$target"
  start=$(date +%s)
  bash tests/fuzz/run_fuzz.sh "$target" "$fuzzer" "$seconds" "$PWD" "$corpus_root/$target"
  echo "fuzz $target: $(( ($(date +%s) - start) / 60 )) min, corpus $corpus_root/$target ($(ls "$corpus_root/$target" | wc -l) inputs)"
done
