#!/usr/bin/env python3
"""Turns bench/runtime/run.sh's raw results into the Markdown table of
docs/benchmarks.md: median (min-max) per row and configuration, and the
ratio of each median to native's (higher is better everywhere; time rows
are recorded as 1/seconds and printed as seconds)."""
import statistics
import sys
from collections import defaultdict

UNITS = {
    "seq_write_1m": "MiB/s", "seq_read_1m": "MiB/s", "seq_read_128k_direct": "MiB/s",
    "rand_read_4k_direct": "IOPS", "rand_write_4k_direct": "IOPS",
    "rand_write_4k_buffered": "IOPS", "rand_read_4k_2jobs": "IOPS",
    "untar": "s", "find_stat": "s", "cat_all": "s", "rm_rf": "s", "cp_500x1mb": "s",
    "dbench_2": "MB/s", "kernel_build": "s",
}


def fmt(row, v):
    if UNITS.get(row) == "s":
        return f"{1 / v:.2f} s"
    if v >= 100000:
        return f"{v / 1000:.0f} k"
    if v >= 1000:
        return f"{v / 1000:.1f} k"
    return f"{v:.0f}"


def main():
    path, configs = sys.argv[1], sys.argv[2].split()
    data = defaultdict(list)
    rows = []
    failed = set()
    for line in open(path):
        parts = line.split()
        if len(parts) < 2:
            continue
        cfg, row = parts[0], parts[1]
        if row not in rows and row not in ("cpu_s", "rss_mib"):
            rows.append(row)
        if len(parts) < 3:  # the row's command failed (e.g. EMFILE)
            failed.add((cfg, row))
            continue
        data[(cfg, row)].append(float(parts[2]))
    head = "| row | unit | " + " | ".join(configs) + " |"
    print(head)
    print("|" + "---|" * (len(configs) + 2))
    for row in rows:
        native = statistics.median(data[("native", row)]) if ("native", row) in data else None
        cells = []
        for cfg in configs:
            vals = data.get((cfg, row))
            if (cfg, row) in failed:
                cells.append("fails" + (f" ({len(vals)} ok)" if vals else ""))
                continue
            if not vals:
                cells.append("–")
                continue
            med = statistics.median(vals)
            cell = fmt(row, med)
            if len(vals) > 1:
                lo, hi = min(vals), max(vals)
                if UNITS.get(row) == "s":
                    lo, hi = hi, lo
                cell += f" ({fmt(row, lo).split()[0]}–{fmt(row, hi).split()[0]})"
            if native and cfg != "native":
                cell += f" **{med / native:.2f}×**"
            cells.append(cell)
        unit = UNITS.get(row, "ops/s")
        print(f"| {row} | {unit} | " + " | ".join(cells) + " |")
    for extra, label in (("cpu_s", "daemon CPU time (s, whole run)"), ("rss_mib", "daemon peak RSS (MiB)")):
        cells = []
        for cfg in configs:
            vals = data.get((cfg, extra))
            cells.append(f"{statistics.median(vals):.1f}" if vals else "–")
        print(f"| {label} | | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
