#!/usr/bin/env python3
"""Random policies x random operations by random callers, on real mounts,
against the policy's meaning (ir_eval, through `fsc explain --json`).

For each random policy (tests/tools/random_policy.py, the generator `fsc
verify`'s test uses) the same scripted tree is mounted; callers (root
and users with and without the groups the conditions name) do random
operations through the view: lstat, open for reading and for writing,
truncate, utimes, getxattr, listing a directory, creating a new name,
unlinking a file. The model of one operation (model.py) is what the kernel
asks the daemon, in order: a lookup of every ancestor (as a directory),
a lookup of the path (unless it is being created), then the operation
itself (for a listing, opendir(3)'s open and fstat of the directory);
the first refusal ir_eval gives is the expected errno, and a listing
must hold exactly the children ir_eval does not hide. Created
and unlinked names update the model tree. Every result must be equal.
The mount runs without default_permissions and over a tree every caller
may change, so that only the policy refuses. Prints the case count.
argv[1] adds mount options; FSPOL_DIFF_POLICIES and FSPOL_DIFF_OPS
scale the run."""
import errno
import json
import os
import random
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from fsrun_env import Checker, Env  # noqa: E402
from model import Oracle, Tree  # noqa: E402
from random_policy import NAMES, random_policy  # noqa: E402

CALLERS = [(0, 0), (1000, 1000), (1005, 7), (2000, 2000), (1, 1)]
DIRS = ["a", "b", "data", "secret", "tmp", ".cache"]
FILES = ["x.log", "c1"]
INNER_FILES = ["a", "x.log", "data"]

# Runs as one caller: performs the operations (JSON in argv[2]) under the
# mount (argv[1]), prints one JSON result per operation: an errno name or
# "ok", or the sorted listing for a listing.
WORKER = r'''
import errno, json, os, sys
os.umask(0)  # what one caller creates, the others may change
root = sys.argv[1]
out = []
for op, path in json.loads(sys.argv[2]):
    p = root + path
    try:
        if op == "stat":
            os.lstat(p)
        elif op == "read":
            os.close(os.open(p, os.O_RDONLY))
        elif op == "write":
            os.close(os.open(p, os.O_WRONLY))
        elif op == "truncate":
            os.truncate(p, 0)
        elif op == "utimes":
            os.utime(p, None)
        elif op == "xattr_read":
            try:
                os.getxattr(p, "user.fspol", follow_symlinks=False)
            except OSError as e:
                if e.errno != errno.ENODATA:
                    raise
        elif op == "readdir":
            out.append(sorted(os.listdir(p)))
            continue
        elif op == "create":
            os.close(os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        elif op == "delete":
            os.unlink(p)
        out.append("ok")
    except OSError as e:
        out.append(errno.errorcode.get(e.errno, str(e.errno)))
print(json.dumps(out))
'''


def build(lower, model):
    os.makedirs(lower)
    os.chmod(lower, 0o777)
    model.types.clear()
    for d in DIRS:
        os.makedirs(os.path.join(lower, d, "secret"))
        model.types["/" + d] = "dir"
        model.types[f"/{d}/secret"] = "dir"
        for p in (os.path.join(lower, d), os.path.join(lower, d, "secret")):
            os.chmod(p, 0o777)
        for f in INNER_FILES:
            model.types[f"/{d}/{f}"] = "file"
            with open(os.path.join(lower, d, f), "w") as fh:
                fh.write(f)
        model.types[f"/{d}/secret/c1"] = "file"
        with open(os.path.join(lower, d, "secret", "c1"), "w") as fh:
            fh.write("c1")
    for f in FILES:
        model.types["/" + f] = "file"
        with open(os.path.join(lower, f), "w") as fh:
            fh.write(f)
    for root, dirs, files in os.walk(lower):
        for f in files:
            os.chmod(os.path.join(root, f), 0o666)


def random_op(rng, model):
    files = [p for p, t in model.types.items() if t == "file"]
    dirs = [p for p, t in model.types.items() if t == "dir"] + ["/"]
    op = rng.choice(["stat", "read", "write", "truncate", "utimes", "xattr_read", "readdir",
                     "create", "delete", "stat", "read"])
    if op == "readdir":
        return op, rng.choice(dirs)
    if op == "create":
        d = rng.choice(dirs)
        for _ in range(8):
            p = d.rstrip("/") + "/" + rng.choice(NAMES + ["new", "n.log"])
            if p not in model.types:
                return op, p
        return "stat", rng.choice(files)
    if op == "stat":
        return op, rng.choice(files + dirs[:-1])
    return op, rng.choice(files)


def main():
    env = Env("differential")
    check = Checker(env)
    fsc = os.path.join(os.path.dirname(env.fsrun), "fsc")
    extra = sys.argv[1] if len(sys.argv) > 1 else ""
    policies = int(os.environ.get("FSPOL_DIFF_POLICIES", "12"))
    ops_per_round = int(os.environ.get("FSPOL_DIFF_OPS", "6"))
    rng = random.Random(int(os.environ.get("FSPOL_DIFF_SEED", "20261129")))
    cases = 0
    made = 0
    shown = set()  # policies printed with a failure
    while made < policies:
        text = random_policy(rng, made)
        path = os.path.join(env.work, f"random_{made}.fspol")
        with open(path, "w") as f:
            f.write(text)
        if subprocess.run([fsc, "check", path], capture_output=True).returncode != 0:
            continue  # rejected by fsc (a hide leak, say): not a policy to mount
        made += 1
        model = Tree(Oracle(fsc, path))
        lower = env.path(f"lower{made}")
        build(lower, model)
        mnt = os.path.join(env.work, "mnt")
        options = ",".join(o for o in ("default_permissions=false", extra) if o)
        proc = env.mount(lower, mnt, options, policy=path)
        # Rounds: each caller in turn does a few operations; the model
        # follows the changes.
        for _ in range(3):
            for caller in CALLERS:
                ops = [random_op(rng, model) for _ in range(ops_per_round)]
                # Changes are decided one at a time (a create then a delete
                # of the same name): expected values come from the model
                # as each operation finds it.
                uid, gid = caller
                prefix = [] if caller == (0, 0) else ["setpriv", f"--reuid={uid}", f"--regid={gid}",
                                                      "--clear-groups"]
                expected = []
                shadow = dict(model.types)
                for op, p in ops:
                    e = model.expect(op, p, caller)
                    expected.append(e)
                    model.apply(op, p, e if isinstance(e, str) else "ok")
                model.types = shadow  # re-applied below from the real results
                r = subprocess.run(prefix + [sys.executable, "-I", "-c", WORKER, mnt, json.dumps(ops)],
                                   capture_output=True, text=True, timeout=120)
                check.equal(r.returncode, 0, f"worker ran: {r.stderr}")
                got = json.loads(r.stdout) if r.returncode == 0 else [None] * len(ops)
                for (op, p), e, g in zip(ops, expected, got):
                    cases += 1
                    check.equal(g, e, f"policy {made} uid {uid} gid {gid}: {op} {p}")
                    if g != e and made not in shown:
                        shown.add(made)
                        print(f"policy {made}, batch {ops}:\n{text}", file=sys.stderr)
                    model.apply(op, p, g if isinstance(g, str) else "ok")
        env.umount(mnt, proc)
        model.oracle.close()
    print(f"differential: {cases} operations on {policies} random policies, 5 callers")
    check.finish()


if __name__ == "__main__":
    main()
