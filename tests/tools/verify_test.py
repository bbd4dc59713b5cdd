#!/usr/bin/env python3
"""The BPF backend end to end: `fsc verify` on every example, every valid
corpus policy, the stdlib and random policies, for both target profiles.
Each run builds the policy's harness in process, loads it into the running
kernel and compares what the filters decide with ir_eval on generated
requests; any disagreement fails. Needs permission to load BPF (root):
without it the test is skipped (exit 77). Prints the request counts."""

import argparse
import os
import random
import re
import subprocess
import sys
import tempfile

from random_policy import random_policy

# Refusals a policy may legitimately get from the planner.
EXPECTED_REFUSALS = ("is a module, not a policy", "cannot deny 'lock' alone")


def verify(fsc, path, target, random_names):
    proc = subprocess.run([fsc, "verify", f"--target={target}", f"--random-names={random_names}",
                           path], capture_output=True, text=True, timeout=600)
    return proc.returncode, proc.stdout, proc.stderr


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fsc", required=True)
    ap.add_argument("--source-dir", required=True)
    ap.add_argument("--random", type=int, default=40, help="random policies")
    ap.add_argument("--seed", type=int, default=20261129)
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("SKIP: fsc verify loads BPF programs: run as root")
        return 77

    src = args.source_dir
    files = []
    for d in ("examples", "grammar/corpus/valid", "stdlib/policies"):
        files += sorted(os.path.join(src, d, f) for f in os.listdir(os.path.join(src, d))
                        if f.endswith(".fspol"))
    failures = []
    totals = {"policies": 0, "requests": 0, "daemon": 0}

    def run(path, target, random_names, label):
        code, out, err = verify(args.fsc, path, target, random_names)
        if code == 4:
            print(f"SKIP: {err.strip()}")
            sys.exit(77)
        if code != 0:
            if code == 1 and any(r in err for r in EXPECTED_REFUSALS) and "mismatch" not in err:
                return
            failures.append(f"{label} ({target}): exit {code}\n{out}{err}")
            return
        m = re.search(r"differential: (\d+) of (\d+) requests agree with ir_eval; (\d+) decided", out)
        if not m or m.group(1) != m.group(2):
            failures.append(f"{label} ({target}): no clean differential line\n{out}{err}")
            return
        totals["policies"] += 1
        totals["requests"] += int(m.group(2))
        totals["daemon"] += int(m.group(3))

    for path in files:
        example = "/examples/" in path
        for target in ("fspol-6.1", "rfc-v3") if example else ("fspol-6.1",):
            run(path, target, 16 if example else 4, os.path.relpath(path, src))
    # A generated policy of 100 rules: 272 node states, 904 child rows
    # the machine's searches go through.
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "generated-100.fspol")
        with open(path, "w") as f:
            subprocess.run([sys.executable, os.path.join(src, "bench", "gen_policy.py"), "100"],
                           stdout=f, check=True)
        for target in ("fspol-6.1", "rfc-v3"):
            run(path, target, 0, "generated 100-rule policy")
    # Random policies; those fsc check rejects (shadowed rules, errnos an
    # operation cannot return) are drawn again.
    rng = random.Random(args.seed)
    rejected = 0
    with tempfile.TemporaryDirectory() as tmp:
        i = 0
        while i < args.random and rejected < 4 * args.random:
            path = os.path.join(tmp, f"random_{i}.fspol")
            text = random_policy(rng, i)
            with open(path, "w") as f:
                f.write(text)
            if subprocess.run([args.fsc, "check", path], capture_output=True).returncode != 0:
                rejected += 1
                continue
            for target in ("fspol-6.1", "rfc-v3"):
                before = len(failures)
                run(path, target, 8, f"random policy {i}")
                if len(failures) > before:
                    failures[-1] += "\npolicy:\n" + text
            i += 1
    print(f"verified {totals['policies']} policy builds ({args.random} random policies, "
          f"{rejected} drawn again): {totals['requests']} requests agree with ir_eval, "
          f"{totals['daemon']} decided by the daemon")
    for f in failures:
        print("FAIL:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
