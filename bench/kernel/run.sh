#!/usr/bin/env bash
# fsrun in fuse-bpf mode against native and daemon mode, in the kernel
# tier's VM (QEMU TCG: absolute times mean little, ratios within one run
# compare): bench/kernel/guest.sh runs metabench's metadata rows (N files
# in one directory, cold rows after drop_caches) and 64 MiB sequential
# writes and reads (seqio.c), natively on a tmpfs and through fsrun in both modes
# with examples/passthrough.fspol (allow-all), examples/android-media.fspol,
# bench/kernel/hides.fspol (hidden names in every listing) and
# bench/kernel/names.fspol (every name mapped to its lower name); prints
# medians and ratios to native.
# usage: bench/kernel/run.sh [-n FILES] [-r REPEATS] [-b BUILD_DIR] [-o RESULTS.md]
# Needs the kernel tier built (kernel/build.sh) and fsc, fsrun built.
set -euo pipefail
cd "$(dirname "$0")/../.."
n=2000
repeats=3
build=build
out=""
while getopts "n:r:b:o:" opt; do
  case $opt in
    n) n=$OPTARG ;;
    r) repeats=$OPTARG ;;
    b) build=$OPTARG ;;
    o) out=$OPTARG ;;
    *) echo "usage: $0 [-n FILES] [-r REPEATS] [-b BUILD_DIR] [-o FILE]" >&2; exit 2 ;;
  esac
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
${CC:-cc} -O2 -o "$work/metabench" bench/runtime/metabench.c
${CC:-cc} -O2 -o "$work/seqio" bench/kernel/seqio.c
kernel/run-vm.sh --timeout 3000 --fspol "$build" --policy bench/kernel/hides.fspol \
  --policy bench/kernel/names.fspol \
  --add-exe "$work/metabench:/usr/bin/metabench" \
  --add-exe "$work/seqio:/usr/bin/seqio" \
  --add bench/kernel/guest.sh:/p/bench.sh -- /p/bench.sh "$n" "$repeats" >"$work/log" 2>&1 || {
  tail -30 "$work/log"
  exit 1
}
grep '^  ' "$work/log" || true
python3 - "$work/log" "$out" <<'PY'
import statistics, sys
rows, configs, values = [], [], {}
for line in open(sys.argv[1]):
    if not line.startswith("ROW "):
        continue
    fields = line.split()
    if len(fields) != 4:
        sys.exit("bad row: " + line.strip())
    _, config, row, value = fields
    if row not in rows: rows.append(row)
    if config not in configs: configs.append(config)
    values.setdefault((config, row), []).append(float(value))
med = {k: statistics.median(v) for k, v in values.items()}
head = "| row | " + " | ".join(configs) + " |"
lines = [head, "|" + "---|" * (len(configs) + 1)]
for row in rows:
    cells = []
    for c in configs:
        v = med.get((c, row))
        base = med.get(("native", row))
        if v is None:
            cells.append("-")
        elif c == "native" or not base:
            cells.append(f"{v:,.0f}")
        else:
            cells.append(f"{v:,.0f} ({v / base:.2f}x)")
    lines.append(f"| {row} | " + " | ".join(cells) + " |")
text = "\n".join(lines)
print(text)
if sys.argv[2]:
    open(sys.argv[2], "w").write(text + "\n")
PY
