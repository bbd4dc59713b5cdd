#!/usr/bin/env bash
# Name matching in a fuse-bpf lookup prefilter: the copy fsc's fspol-6.1
# profile emits against bpf_dynptr_slice (backported to our 6.1), in the
# kernel tier's VM: verifier instructions per program and ns per lookup
# (QEMU TCG: compare within one run).  See name_match.bpf.c.
# usage: bench/kernel/name_match.sh [LOOKUPS]   (needs kernel/build.sh done)
set -euo pipefail
cd "$(dirname "$0")/../.."
B=${FSPOL_KERNEL_BUILD_DIR:-$PWD/kernel-build}
export FSPOL_KERNEL_BUILD_DIR=$B
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
clang-19 -target bpf -O2 -g -mcpu=v3 -Wall -I"$B" -Ikernel/include \
  -c bench/kernel/name_match.bpf.c -o "$work/name_match.bpf.o"
${CC:-cc} -O2 -Wall -o "$work/name_match" bench/kernel/name_match.c -lbpf
kernel/run-vm.sh --timeout 1200 --add-exe "$work/name_match:/usr/bin/name_match" \
  --add "$work/name_match.bpf.o:/p/name_match.bpf.o" \
  -- name_match /p/name_match.bpf.o "${1:-20000}" >"$work/log" 2>&1 || {
  tail -30 "$work/log"
  exit 1
}
python3 - "$work/log" <<'PY'
import statistics, sys
insns, rows = {}, {}
for line in open(sys.argv[1]):
    # the serial console may put the boot messages before the first line
    at = min((i for i in (line.find("INSNS "), line.find("ROW ")) if i >= 0),
             default=0)
    f = line[at:].split()
    if f[:1] == ["INSNS"]:
        insns[f[1]] = int(f[2])
    elif f[:1] == ["ROW"]:
        rows.setdefault((f[1], int(f[2])), []).append(float(f[3]))
sets = ["nm_none", "nm_copy", "nm_slice", "nm_chunk"]
print("| program | verifier insns |")
print("|---|---|")
for s in sets:
    print(f"| {s} | {insns.get(s + '_lookup', '-')} |")
lens = sorted({l for _, l in rows})
print()
print("| name bytes | " + " | ".join(sets) + " |")
print("|---" * (len(sets) + 1) + "|")
for l in lens:
    base = statistics.median(rows[("nm_none", l)])
    cells = []
    for s in sets:
        v = statistics.median(rows[(s, l)])
        cells.append(f"{v:,.0f} ns" + ("" if s == "nm_none" else f" (+{v - base:,.0f})"))
    print(f"| {l} | " + " | ".join(cells) + " |")
PY
