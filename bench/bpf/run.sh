#!/usr/bin/env bash
# The BPF backend's numbers (docs/bpf.md): for every example and for
# generated policies (bench/gen_policy.py) of 10 and 100 rules (and more on
# request), the plan's program sets and filters, the time fsc takes to
# build the fuse_ops object in process, its size, and, as root, the
# harness's instructions and the verifier's processed count on the running
# kernel. Program counts and per-program verifier numbers in the fuse-bpf
# kernel come from kernel/tests/register_policies.sh (ctest
# kernel.register_examples).
#   bench/bpf/run.sh [BUILD_DIR] [RULES...]
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
shift || true
sizes=("$@")
((${#sizes[@]})) || sizes=(10 100)
fsc="$build/bin/fsc"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

policies=(examples/*.fspol)
for n in "${sizes[@]}"; do
  python3 bench/gen_policy.py "$n" >"$work/generated-$n.fspol"
  policies+=("$work/generated-$n.fspol")
done

printf '%-22s %6s %8s %8s %9s %10s %12s %10s\n' policy states "in BPF" daemon "build s" "object KB" \
  "harness ins" "verified"
for p in "${policies[@]}"; do
  name=$(basename "$p" .fspol)
  "$fsc" compile --emit=plan "$p" >"$work/plan"
  sets=$(sed -n 's/^\(program sets\|node states\): \([0-9]*\).*/\2/p' "$work/plan")
  kernel=$(sed -n 's/.*filters: \([0-9]*\) in BPF.*/\1/p' "$work/plan")
  daemon=$(sed -n 's/.*in BPF, \([0-9]*\) in the daemon.*/\1/p' "$work/plan")
  /usr/bin/time -f '%e' -o "$work/t" "$fsc" compile --emit=bpf-obj -o "$work/o" "$p"
  secs=$(cat "$work/t")
  kb=$(($(stat -c %s "$work/o") / 1024))
  ins=- verified=-
  if [[ $(id -u) -eq 0 ]]; then
    out=$("$fsc" verify --random-names=0 "$p" 2>/dev/null || true)
    ins=$(sed -n 's/^harness fsp_harness: \([0-9]*\) instructions.*/\1/p' <<<"$out")
    verified=$(sed -n 's/.*, \([0-9]*\) processed by the verifier/\1/p' <<<"$out")
  fi
  printf '%-22s %6s %8s %8s %9s %10s %12s %10s\n' "$name" "$sets" "$kernel" "$daemon" "$secs" "$kb" \
    "${ins:--}" "${verified:--}"
done
