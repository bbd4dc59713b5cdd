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

# Refusals a policy may legitimately get from the planner.
EXPECTED_REFUSALS = ("is a module, not a policy", "cannot deny 'lock' alone")


def verify(fsc, path, target, random_names):
    proc = subprocess.run([fsc, "verify", f"--target={target}", f"--random-names={random_names}",
                           path], capture_output=True, text=True, timeout=600)
    return proc.returncode, proc.stdout, proc.stderr


def random_policy(rng, index):
    """A policy of visibility and access rules with caller conditions."""
    names = ["a", "b", "data", "x.log", "secret", "tmp", ".cache", "c1"]
    def glob():
        parts = []
        for _ in range(rng.randint(1, 3)):
            parts.append(rng.choice(names + ["*", "**", "*.log", "{a,b}", "?", "[a-c]*"]))
        if parts[-1] == "**" and rng.random() < 0.3:
            parts.append(rng.choice(names))
        return "/" + "/".join(parts)
    def cond():
        kind = rng.choice(["uid", "gid"])
        lo = rng.choice([0, 1, 1000, 2000])
        form = rng.randrange(4)
        if form == 0:
            c = f"{kind} == {lo}"
        elif form == 1:
            c = f"{kind} in {lo}..{lo + rng.choice([0, 9, 999])}"
        elif form == 2:
            c = f"{kind} != {lo}"
        else:
            c = f"uid in {{0, {lo}}} and gid != 7"
        return f" {rng.choice(['when', 'unless'])} {c}"
    ops = ["read", "write", "create", "delete", "stat", "exec", "readdir", "lookup", "chmod",
           "chown", "truncate", "utimes", "xattr_read", "xattr_write", "modify", "setattr"]
    types = ["", "file ", "dir ", "symlink "]
    rules = []
    for _ in range(rng.randint(1, 8)):
        kind = rng.choice(["hide", "deny", "deny", "allow", "readonly"])
        sel = f"{rng.choice(types)}\"{glob()}\""
        c = cond() if rng.random() < 0.5 else ""
        if kind == "hide":
            rules.append(f"hide {sel}{c};")
        elif kind == "readonly":
            rules.append(f"readonly {sel}{c};")
        else:
            o = ", ".join(sorted(set(rng.sample(ops, rng.randint(1, 3)))))
            e = f" errno {rng.choice(['EPERM', 'EACCES', 'EROFS'])}" if kind == "deny" else ""
            rules.append(f"{kind} {o} on {sel}{e}{c};")
    return f"policy random_{index} {{\n  " + "\n  ".join(rules) + "\n}\n"


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
