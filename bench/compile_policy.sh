#!/usr/bin/env bash
# Compile time and memory of fsc on generated policies (1,000 rules is the
# target: under 1 s and 200 MB), five runs each, median and range.
#   bench/compile_policy.sh [BUILD_DIR] [RULES...]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
shift || true
sizes=("$@")
((${#sizes[@]})) || sizes=(100 1000 10000)
fsc="$build/bin/fsc"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf '%8s %10s %10s %10s %10s %12s\n' rules "median s" "min s" "max s" "RSS MB" "path classes"
for n in "${sizes[@]}"; do
  python3 bench/gen_policy.py "$n" >"$work/p.fspol"
  times=()
  rss=0
  for _ in 1 2 3 4 5; do
    /usr/bin/time -f '%e %M' -o "$work/t" "$fsc" compile --stats -o "$work/ir" "$work/p.fspol" >"$work/stats"
    read -r t m <"$work/t"
    times+=("$t")
    ((m > rss)) && rss=$m
  done
  sorted=($(printf '%s\n' "${times[@]}" | sort -n))
  classes=$(grep '^path classes' "$work/stats" | cut -d: -f2)
  printf '%8s %10s %10s %10s %10s %12s\n' "$n" "${sorted[2]}" "${sorted[0]}" "${sorted[4]}" \
    "$((rss / 1024))" "$classes"
done
