#!/usr/bin/env python3
"""Every layer at once, differentially: random policies with attribute
rewrites, a name map, a casefold subtree, a redirect to a second lower
root and a handler, among hides and denies
(tests/tools/random_policy.py, random_layers_policy) × lstat and read of
view paths (mapped, respelled, redirected, missing) by five callers on a
real mount, against a model driven by ir_eval (`fsc explain --json`).

The model of one request is what the kernel asks the daemon: a lookup of
each component, which finds the object where `fsc explain` places it
(ENOENT when nothing is there, ENOTDIR through a file) and is then decided
by ir_eval; then the operation itself. An allowed lstat must show the
lower object's mode, uid and gid rewritten by the attr effects ir_eval
lists; an allowed read must return the lower file's bytes where ir_eval
places it, redacted when ir_eval names the handler. Prints the case
count. argv[1] adds mount options; FSPOL_DIFF_POLICIES scales the run."""
import errno
import json
import os
import random
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from fsrun_env import Checker, Env  # noqa: E402
from model import Oracle, attr_view  # noqa: E402
from random_policy import LAYER_DIRS, random_layers_policy  # noqa: E402

CALLERS = [(0, 0), (1000, 1000), (1005, 7), (2000, 2000), (1, 1)]
NAMES = ["x.log", "x.txt", "notes.txt", "notes.log", "c1", "C1", "X.LOG", "sub", "sub/x.log",
         "sub/x.txt", "SUB/X.Log", "missing", "c1/x"]
SECRET, REDACTED = "password=hunter2", "password=[redacted]"

# Runs as one caller: argv[2] is a list of [op, path]; prints one result
# per request: an errno name, [mode, uid, gid] for lstat, the text read.
WORKER = r'''
import errno, json, os, sys
out = []
for op, path in json.loads(sys.argv[2]):
    p = sys.argv[1] + path
    try:
        if op == "stat":
            st = os.lstat(p)
            out.append([st.st_mode & 0o7777, st.st_uid, st.st_gid])
        else:
            fd = os.open(p, os.O_RDONLY)
            try:
                out.append(os.read(fd, 4096).decode())
            finally:
                os.close(fd)
    except OSError as e:
        out.append(errno.errorcode.get(e.errno, str(e.errno)))
print(json.dumps(out))
'''


def build(roots):
    """main: each of LAYER_DIRS with x.log, notes.txt, c1 and sub/x.log;
    other: the same under /t. Files hold their place and a secret."""
    def tree(root, top):
        d = os.path.join(root, top)
        os.makedirs(os.path.join(d, "sub"))
        for rel in ("x.log", "notes.txt", "c1", "sub/x.log"):
            with open(os.path.join(d, rel), "w") as f:
                f.write(f"{os.path.basename(root)}:/{top}/{rel} {SECRET}\n")
            os.chmod(os.path.join(d, rel), 0o644)
            os.chown(os.path.join(d, rel), 1000, 100)
        for sub in (d, os.path.join(d, "sub")):
            os.chmod(sub, 0o755)
    for name, root in roots.items():
        os.makedirs(root)
        os.chmod(root, 0o755)
        for top in (LAYER_DIRS if name == "main" else ["t"]):
            tree(root, top)


class Model:
    def __init__(self, fsc, policy, layout, roots):
        self.policy, self.layout = Oracle(fsc, policy), Oracle(fsc, layout)
        self.roots = roots

    def explain(self, oracle, path, op, type_, caller):
        return oracle.explain(path, op, type_, caller)

    def verdict(self, path, op, type_, caller):
        v = self.explain(self.policy, path, op, type_, caller)
        return "ok" if v["allowed"] else v["errno_name"]

    def place(self, path, type_):
        """Where a view path puts an object of type_ (names live alike for
        every caller: the layout policy says where)."""
        v = self.explain(self.layout, path, "lookup", type_, (0, 0))
        return os.path.join(self.roots[v["lower_root"]], v["lower_path"].lstrip("/"))

    def find(self, path):
        """The lower object a view path names and its type: one found where
        its own type puts it (a map may be filtered on types)."""
        for type_ in ("file", "dir"):
            real = self.place(path, type_)
            if os.path.lexists(real) and os.path.isdir(real) == (type_ == "dir"):
                return real, type_
        return None, None

    def expect(self, op, path, caller):
        parts = [c for c in path.split("/") if c]
        for i in range(1, len(parts) + 1):
            q = "/" + "/".join(parts[:i])
            real, type_ = self.find(q)
            if real is None:
                return "ENOENT"
            r = self.verdict(q, "lookup", type_, caller)
            if r != "ok":
                return r
            if i < len(parts) and type_ != "dir":
                return "ENOTDIR"
        if op == "read" and type_ == "dir":
            r = self.verdict(path, "readdir", type_, caller)  # open(2) of a directory
            return r if r != "ok" else "EISDIR"
        r = self.verdict(path, op, type_, caller)
        if r != "ok":
            return r
        v = self.explain(self.policy, path, op, type_, caller)
        if op == "read":
            with open(real) as f:
                text = f.read()
            return text.replace(SECRET, REDACTED) if v["handler"] else text
        st = os.lstat(real)
        return list(attr_view(v, st.st_mode & 0o7777, st.st_uid, st.st_gid))


def main():
    env = Env("differential_layers")
    check = Checker(env)
    fsc = os.path.join(os.path.dirname(env.fsrun), "fsc")
    extra = sys.argv[1] if len(sys.argv) > 1 else ""
    policies = int(os.environ.get("FSPOL_DIFF_POLICIES", "12"))
    rng = random.Random(int(os.environ.get("FSPOL_DIFF_SEED", "20261130")))
    dirs = LAYER_DIRS + [d.upper() for d in LAYER_DIRS]
    paths = ["/" + d for d in dirs] + [f"/{d}/{n}" for d in dirs for n in NAMES]
    # Names a map or the store may make exist, more often.
    likely = [f"/{d}/{n}" for d in LAYER_DIRS for n in ("x.log", "x.txt", "notes.log", "c1", "sub/x.log",
                                                         "sub/x.txt")]
    cases = made = tried = 0
    kinds = {"attributes": 0, "contents": 0, "redacted": 0, "refused": 0}
    while made < policies and tried < 20 * policies:
        tried += 1
        text, layout_text = random_layers_policy(rng, made)
        policy = os.path.join(env.work, f"layers_{made}.fspol")
        layout = os.path.join(env.work, f"layout_{made}.fspol")
        with open(policy, "w") as f:
            f.write(text)
        with open(layout, "w") as f:
            f.write(layout_text)
        if subprocess.run([fsc, "check", policy], capture_output=True).returncode != 0:
            continue  # rejected by fsc (a rule that never acts, say)
        made += 1
        roots = {"main": env.path(f"main{made}"), "other": env.path(f"other{made}")}
        build(roots)
        model = Model(fsc, policy, layout, roots)
        mnt = os.path.join(env.work, "mnt")
        options = ",".join(o for o in ("default_permissions=false", f"lower.other={roots['other']}", extra)
                           if o)
        proc = env.mount(roots["main"], mnt, options, policy=policy)
        failed = False
        for caller in CALLERS:
            ops = [(rng.choice(["stat", "read"]), rng.choice(likely if rng.random() < 0.6 else paths))
                   for _ in range(30)]
            expected = [model.expect(op, p, caller) for op, p in ops]
            uid, gid = caller
            prefix = [] if caller == (0, 0) else ["setpriv", f"--reuid={uid}", f"--regid={gid}",
                                                  "--clear-groups"]
            r = subprocess.run(prefix + [sys.executable, "-I", "-c", WORKER, mnt, json.dumps(ops)],
                               capture_output=True, text=True, timeout=120)
            check.equal(r.returncode, 0, f"worker ran: {r.stderr}")
            got = json.loads(r.stdout) if r.returncode == 0 else [None] * len(ops)
            for (op, p), e, g in zip(ops, expected, got):
                cases += 1
                kinds["attributes" if isinstance(e, list) else "refused" if e.isupper() else
                      "redacted" if REDACTED in e else "contents"] += 1
                check.equal(g, e, f"policy {made} uid {uid} gid {gid}: {op} {p}")
                failed = failed or g != e
        if failed:
            print(f"policy {made}:\n{text}", file=sys.stderr)
        env.umount(mnt, proc)
        model.policy.close()
        model.layout.close()
    check.equal(made, policies, "enough random policies passed fsc check")
    print(f"differential_layers: {cases} requests on {made} random policies, 5 callers: "
          + ", ".join(f"{n} {k}" for k, n in kinds.items()))
    check.check(all(kinds.values()), "every kind of answer was compared")
    check.finish()


if __name__ == "__main__":
    main()
