#!/usr/bin/env python3
"""Visibility and access rules applied by the daemon, checked against the
reference evaluator.

A view of a tree whose modes let everyone do everything (so only the policy
refuses) is used by several callers; every request's outcome through the
mount (errno, or success) must be what `fsc explain --json` (ir_eval) says
for the same request: the lookups of every component first, then the
operation. Listings must show exactly the names ir_eval lets the caller
look up. argv[1] adds mount options (default_permissions, transport).
"""
import errno
import json
import os
import shutil
import subprocess
import sys
import textwrap

from fsrun_env import Checker, Env, skip

POLICY = textwrap.dedent("""
    policy enforce {
      option cache = auto;
      hide "/**/.secret";
      hide dir "/private" unless uid == 0;
      deny write on "/ro/**" errno EPERM;
      readonly "/frozen/**";
      allow read on "/docs/**" when uid == 1000;
      deny read on "/docs/**";
      deny create, delete on "/shared/locked*" errno EPERM unless gid == 100;
      deny stat on file "/statless";
      deny read on "/comm.txt" when comm == "cat";
      deny read on symlink "/link" when uid == 1000;
    }
    """).lstrip()

FILES = ["a.txt", "b.txt", ".secret", "docs/x.txt", "docs/.secret", "private/p.txt", "ro/r.txt",
         "frozen/f.txt", "shared/lockedfile", "shared/open.txt"]
DIRS = ["docs", "private", "ro", "frozen", "shared"]
CALLERS = [(0, 0), (1000, 1000), (1001, 100)]

# (op for ir_eval, path, how the caller does it)
# With default_permissions the kernel needs fresh attributes to check an
# open, so denying stat also refuses opens (docs/runtime.md): "statless"
# is only stat'ed here.
REQUESTS = [("stat", p, "stat") for p in FILES + DIRS + ["statless"]] + \
    [("read", p, "read") for p in FILES] + \
    [("write", p, "append") for p in FILES] + \
    [("chmod", p, "chmod") for p in ["frozen/f.txt", "a.txt", "docs/x.txt", "ro/r.txt"]] + \
    [("create", d + "/new-file" if d else "new-file", "create") for d in DIRS + [""]] + \
    [("create", "shared/locked-new", "create")] + \
    [("delete", p, "unlink") for p in ["shared/lockedfile", "frozen/f.txt", "b.txt", "ro/r.txt"]] + \
    [("readdir", d, "listdir") for d in DIRS + [""]]

ACT = r'''
import errno, json, os, sys
root, requests = sys.argv[1], json.loads(sys.argv[2])
out = []
for how, rel in requests:
    p = os.path.join(root, rel)
    try:
        if how == "stat": os.lstat(p)
        elif how == "read": open(p, "rb").read()
        elif how == "append": os.close(os.open(p, os.O_WRONLY | os.O_APPEND))
        elif how == "create": os.close(os.open(p, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
        elif how == "unlink": os.unlink(p)
        elif how == "chmod": os.chmod(p, 0o666)
        elif how == "readlink": os.readlink(p)
        elif how == "listdir":
            out.append(["ok", sorted(os.listdir(p))])
            continue
        out.append(["ok", None])
    except OSError as e:
        out.append([errno.errorcode.get(e.errno, str(e.errno)), None])
print(json.dumps(out))
'''


def explain(fsc, policy, path, op, uid, gid, ptype, comm=None):
    r = subprocess.run([fsc, "explain", policy, path, "--op", op, "--uid", str(uid), "--gid",
                        str(gid), "--type", ptype, "--json"] + (["--comm", comm] if comm else []),
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"fsc explain {path} {op}: {r.stderr}")
    v = json.loads(r.stdout)
    return "ok" if v["allowed"] else v["errno_name"]


def build(top, uid, gid):
    """Everything mode 0777/0666 and the caller's, so that only the policy
    refuses."""
    os.makedirs(top)
    os.chmod(top, 0o777)
    for d in DIRS:
        os.mkdir(os.path.join(top, d))
        os.chmod(os.path.join(top, d), 0o777)
        os.chown(os.path.join(top, d), uid, gid)
    for f in FILES + ["statless", "comm.txt"]:
        with open(os.path.join(top, f), "w") as fh:
            fh.write(f)
        os.chmod(os.path.join(top, f), 0o666)
        os.chown(os.path.join(top, f), uid, gid)
    os.symlink("a.txt", os.path.join(top, "link"))


def main():
    env = Env("enforce")
    check = Checker(env)
    fsc = os.path.join(os.path.dirname(env.fsrun), "fsc")
    if not os.access(fsc, os.X_OK):
        env.cleanup()
        skip("fsc is not next to fsrun")
    extra = sys.argv[1] if len(sys.argv) > 1 else ""
    policy = os.path.join(env.work, "enforce.fspol")
    with open(policy, "w") as f:
        f.write(POLICY)
    dirs_of = set(DIRS + [""])
    for uid, gid in CALLERS:
        lower = env.path(f"lower-{uid}")
        mnt = os.path.join(env.work, f"mnt-{uid}")
        build(lower, uid, gid)
        proc = env.mount(lower, mnt, extra or None, policy=policy)
        prefix = [] if uid == 0 else ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups"]
        r = subprocess.run(prefix + [sys.executable, "-I", "-c", ACT, mnt,
                                     json.dumps([[how, rel] for _, rel, how in REQUESTS])],
                           capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise RuntimeError(r.stderr)
        got = json.loads(r.stdout)
        for (op, rel, how), (result, listing) in zip(REQUESTS, got):
            path = "/" + rel if rel else "/"
            ptype = "dir" if rel in dirs_of else "file"
            # The walk: every ancestor is looked up as a directory, then
            # the name itself (not for a name being created), then the op.
            want = "ok"
            parts = rel.split("/") if rel else []
            steps = [("/" + "/".join(parts[:i + 1]), "lookup", "dir") for i in range(len(parts) - 1)]
            if op != "create" and rel:
                steps.append((path, "lookup", ptype))
            steps.append((path, op, ptype))
            for spath, sop, stype in steps:
                want = explain(fsc, policy, spath, sop, uid, gid, stype)
                if want != "ok":
                    break
            check.equal(result, want, f"uid {uid}: {how} {path}")
            if how == "listdir" and result == "ok":
                shown = [n for n in sorted(os.listdir(os.path.join(lower, rel)))
                         if explain(fsc, policy, (path.rstrip("/") + "/" + n), "lookup",
                                    uid, gid, "dir" if os.path.isdir(os.path.join(lower, rel, n))
                                    else "file") == "ok"]
                check.equal(listing, shown, f"uid {uid}: listing of {path}")
        if uid == 0:
            # A rule on the process name: cat is refused, python is not,
            # as fsc explain says.
            r = subprocess.run(["cat", os.path.join(mnt, "comm.txt")], capture_output=True, text=True)
            check.equal((r.returncode != 0, "Permission denied" in r.stderr), (True, True),
                        f"cat of comm.txt refused: {r.stderr!r}")
            with open(os.path.join(mnt, "comm.txt")) as f:
                check.equal(f.read(), "comm.txt", "python reads comm.txt")
            check.equal(explain(fsc, policy, "/comm.txt", "read", 0, 0, "file", "cat"), "EACCES",
                        "fsc explain agrees for cat")
            # One node keeps one set of rules: moving or linking a file
            # where other rules apply answers EXDEV (mv copies instead);
            # within the same rules it works.
            for fn, args, want in ((os.rename, ("a.txt", "ro/moved"), "EXDEV"),
                                   (os.link, ("a.txt", "ro/linked"), "EXDEV"),
                                   (os.rename, ("shared/open.txt", "shared/moved.txt"), "ok")):
                try:
                    fn(*(os.path.join(mnt, a) for a in args))
                    got_r = "ok"
                except OSError as e:
                    got_r = errno.errorcode.get(e.errno, str(e.errno))
                check.equal(got_r, want, f"{fn.__name__} {args[0]} -> {args[1]}")
        env.umount(mnt, proc)
    # One view, callers taking turns: nothing the kernel keeps for one
    # caller (entries, attributes, listings, link targets) may answer another.
    lower = env.path("lower-shared")
    mnt = os.path.join(env.work, "mnt-shared")
    build(lower, 0, 0)
    proc = env.mount(lower, mnt, extra or None, policy=policy)
    turns = [("stat", "private/p.txt", "stat", "file"), ("read", "link", "readlink", "symlink"),
             ("readdir", "private", "listdir", "dir"), ("read", "docs/x.txt", "read", "file"),
             ("stat", "private", "stat", "dir")]
    for uid, gid in [(0, 0), (1000, 1000), (0, 0), (1000, 1000)]:
        prefix = [] if uid == 0 else ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups"]
        r = subprocess.run(prefix + [sys.executable, "-I", "-c", ACT, mnt,
                                     json.dumps([[how, rel] for _, rel, how, _ in turns])],
                           capture_output=True, text=True, timeout=120)
        for (op, rel, how, ptype), (result, _) in zip(turns, json.loads(r.stdout)):
            parts = rel.split("/")
            want = "ok"
            steps = [("/" + "/".join(parts[:i + 1]), "lookup", "dir") for i in range(len(parts) - 1)]
            steps += [("/" + rel, "lookup", ptype), ("/" + rel, op, ptype)]
            for spath, sop, stype in steps:
                want = explain(fsc, policy, spath, sop, uid, gid, stype)
                if want != "ok":
                    break
            check.equal(result, want, f"shared view, uid {uid}: {how} /{rel}")
    env.umount(mnt, proc)
    check.finish()


if __name__ == "__main__":
    if shutil.which("setpriv") is None:
        skip("setpriv missing (Debian package util-linux)")
    main()
