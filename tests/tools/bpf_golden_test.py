#!/usr/bin/env python3
"""Codegen goldens: one small policy per construct (tests/golden_bpf/),
its generated fuse_ops C compared with the checked-in .bpf.c, and each
golden also built by the clang-19 driver (no golden blesses C that does not
build). Also: `fsc compile -o DIR` writes every artefact, twice
byte-identical, and the objects are BPF ELF files.
UPDATE_GOLDEN=1 rewrites the goldens."""

import argparse
import filecmp
import os
import shutil
import subprocess
import sys
import tempfile

MULTIARCH = "/usr/include/x86_64-linux-gnu"


def run(*cmd, **kw):
    return subprocess.run(list(cmd), capture_output=True, text=True, **kw)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fsc", required=True)
    ap.add_argument("--source-dir", required=True)
    args = ap.parse_args()
    golden_dir = os.path.join(args.source_dir, "tests", "golden_bpf")
    update = os.environ.get("UPDATE_GOLDEN") == "1"
    clang = shutil.which("clang-19")
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in sorted(os.listdir(golden_dir)):
            if not name.endswith(".fspol"):
                continue
            # Relative to the source tree: #line directives name it.
            policy = os.path.join("tests", "golden_bpf", name)
            golden = os.path.join(golden_dir, name[:-len(".fspol")] + ".bpf.c")
            out = run(args.fsc, "compile", "--emit=bpf-c", policy, cwd=args.source_dir)
            if out.returncode != 0:
                failures.append(f"{name}: fsc failed:\n{out.stderr}")
                continue
            if update:
                with open(golden, "w") as f:
                    f.write(out.stdout)
            elif not os.path.exists(golden):
                failures.append(f"{name}: no golden {golden} (UPDATE_GOLDEN=1 writes it)")
                continue
            elif open(golden).read() != out.stdout:
                failures.append(f"{name}: generated C differs from {os.path.basename(golden)}")
                continue
            # The golden builds with the clang driver and the headers fsc writes.
            d = os.path.join(tmp, name)
            os.mkdir(d)
            files = run(args.fsc, "compile", "--emit=all", "-o", d, policy, cwd=args.source_dir)
            if files.returncode != 0:
                failures.append(f"{name}: --emit=all failed:\n{files.stderr}")
                continue
            again = os.path.join(tmp, name + ".again")
            os.mkdir(again)
            run(args.fsc, "compile", "--emit=all", "-o", again, policy, cwd=args.source_dir)
            cmp = filecmp.dircmp(d, again)
            if cmp.diff_files or cmp.left_only or cmp.right_only:
                failures.append(f"{name}: two compiles differ: {cmp.diff_files}")
            stem = name[:-len(".fspol")]
            for obj in (f"{stem}.bpf.o", f"{stem}.harness.bpf.o"):
                with open(os.path.join(d, obj), "rb") as f:
                    head = f.read(20)
                if head[:4] != b"\x7fELF" or int.from_bytes(head[18:20], "little") != 247:
                    failures.append(f"{name}: {obj} is not a BPF ELF object")
            if clang is None:
                print(f"SKIP clang build of {name}: clang-19 not installed")
                continue
            built = run(clang, "-target", "bpf", "-O2", "-g", "-mcpu=v3", "-I", d, "-I", MULTIARCH,
                        "-c", golden, "-o", os.path.join(d, "golden.o"))
            if built.returncode != 0:
                failures.append(f"{name}: the golden does not build:\n{built.stderr}")
    for f in failures:
        print("FAIL:", f)
    print(f"bpf goldens: {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
