#!/usr/bin/env python3
"""Attribute rewrites applied by the daemon (attr rules).

A view with the attr rules of a bindfs-style policy (set, offset and map
rewrites of owners, mode masks per file type, a fixed time, and a rewrite
for some callers only) over a tree with known owners and modes:
  - stat, listings with attributes (readdirplus) and the reply of a chown
    or chmod show the rewritten attributes, for each caller as the policy
    says (a caller-dependent rewrite is never served from another caller's
    cache);
  - chown through the view takes view ids: the lower id that shows as the
    one asked for is set (a map or an offset run backwards), a set rewrite
    keeps the lower id when asked for the id it shows, and an id no lower
    id shows as is refused with EPERM, changing nothing;
  - a lower file hard-linked under names with different rules shows each
    name's attributes;
  - the result is the same as the BPF filters compute (`fsc verify` on the
    same policy).
argv[1] adds mount options."""
import json
import os
import re
import stat
import subprocess
import sys
import textwrap

from fsrun_env import Checker, Env, skip

POLICY = textwrap.dedent("""
    policy owners {
      option cache = auto;
      attr "/public/**" {
        uid = 33;
        gid = 33;
      }
      attr file "/public/**" {
        mode &= 0644;
      }
      attr dir "/public/**" {
        mode |= 0555;
      }
      attr "/container/**" {
        uid += 100000;
        gid += 100000;
      }
      attr "/stamped/**" {
        mtime = 1700000000;
      }
      attr "/mine/**" when uid == 1000 {
        uid = 0;
      }
      attr "/**" {
        uid map { 1001 -> 1000, 2000..2999 -> 3000..3999 };
        gid map { 1001 -> 1000 };
      }
    }
    """).lstrip()

# (path, mode, uid, gid) of the lower tree
TREE = [("public", 0o40777, 7, 7), ("public/f", 0o100777, 7, 7), ("public/d", 0o40700, 7, 7),
        ("container", 0o40755, 0, 0), ("container/c", 0o100640, 5, 6),
        ("stamped", 0o40755, 0, 0), ("stamped/s", 0o100644, 0, 0),
        ("mine", 0o40777, 1000, 1000), ("mine/m", 0o100666, 1000, 1000),
        ("plain", 0o100644, 1001, 1001), ("range", 0o100644, 2500, 2500),
        ("other", 0o100644, 4, 4)]

# What a caller sees: (mode, uid, gid, mtime or None), per caller uid.
# "/d/**" covers /d itself too.
def expected(path, mode, uid, gid, caller):
    under = lambda d: path == d or path.startswith(d + "/")
    mtime = None
    if under("public"):
        uid, gid = 33, 33
        perm = mode & 0o7777
        perm = perm & 0o644 if stat.S_ISREG(mode) else perm | 0o555
        mode = (mode & ~0o7777) | perm
    elif under("container"):
        uid, gid = uid + 100000, gid + 100000
    if under("stamped"):
        mtime = 1700000000
    if under("mine") and caller == 1000:
        uid = 0
    elif not under("public") and not under("container"):
        uid = {1001: 1000}.get(uid, 3000 + uid - 2000 if 2000 <= uid <= 2999 else uid)
    if not under("public") and not under("container"):
        gid = {1001: 1000}.get(gid, gid)
    return (mode, uid, gid, mtime)


STAT = r'''
import json, os, sys
root, paths = sys.argv[1], json.loads(sys.argv[2])
out = {}
for p in paths:
    st = os.lstat(os.path.join(root, p))
    out[p] = [st.st_mode, st.st_uid, st.st_gid, st.st_mtime_ns // 10**9]
listed = {}
for d in ("", "public", "container", "mine"):
    for e in os.scandir(os.path.join(root, d)):
        st = e.stat(follow_symlinks=False)
        listed[os.path.join(d, e.name)] = [st.st_mode, st.st_uid, st.st_gid, st.st_mtime_ns // 10**9]
print(json.dumps([out, listed]))
'''


def build(top):
    os.makedirs(top)
    os.chmod(top, 0o777)
    for path, mode, uid, gid in TREE:
        full = os.path.join(top, path)
        if stat.S_ISDIR(mode):
            os.mkdir(full)
        else:
            with open(full, "w") as f:
                f.write(path)
        os.chmod(full, mode & 0o7777)
        os.chown(full, uid, gid)


def main():
    env = Env("attr")
    check = Checker(env)
    fsc = os.path.join(os.path.dirname(env.fsrun), "fsc")
    extra = sys.argv[1] if len(sys.argv) > 1 else ""
    policy = os.path.join(env.work, "owners.fspol")
    with open(policy, "w") as f:
        f.write(POLICY)
    lower = env.path("lower")
    build(lower)
    mnt = os.path.join(env.work, "mnt")
    proc = env.mount(lower, mnt, extra or None, policy=policy)
    paths = [p for p, *_ in TREE]
    lower_of = {p: (m, u, g) for p, m, u, g in TREE}
    # Callers taking turns on one view: a rewrite for uid 1000 only must
    # not reach root through the kernel's caches, nor the other way.
    for caller in (0, 1000, 0, 1000):
        prefix = [] if caller == 0 else ["setpriv", f"--reuid={caller}", f"--regid={caller}",
                                         "--clear-groups"]
        r = subprocess.run(prefix + [sys.executable, "-I", "-c", STAT, mnt, json.dumps(paths)],
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError(r.stderr)
        stats, listed = json.loads(r.stdout)
        for p in paths:
            st = os.lstat(os.path.join(lower, p))
            m, u, g = lower_of[p]
            want = expected(p, m, u, g, caller)
            got = stats[p]
            check.equal(tuple(got[:3]), want[:3], f"uid {caller}: stat {p}")
            if want[3] is not None:
                check.equal(got[3], want[3], f"uid {caller}: mtime of {p}")
            else:
                check.equal(got[3], int(st.st_mtime), f"uid {caller}: mtime of {p} (lower)")
            if p in listed:
                check.equal(tuple(listed[p][:3]), want[:3], f"uid {caller}: listed {p}")

    # chown through the view: view ids in, lower ids set.
    def chown(path, uid, gid=-1):
        try:
            os.chown(os.path.join(mnt, path), uid, gid, follow_symlinks=False)
            return "ok"
        except OSError as e:
            return os.strerror(e.errno)
    lstat = lambda p: os.lstat(os.path.join(lower, p))
    check.equal(chown("plain", 1000), "ok", "chown plain to 1000 (shown for 1001)")
    check.equal(lstat("plain").st_uid, 1001, "lower uid of plain: 1001")
    check.equal(chown("plain", 1001), os.strerror(1), "chown plain to 1001 (shows as 1000): EPERM")
    check.equal(lstat("plain").st_uid, 1001, "plain unchanged after the refusal")
    check.equal(chown("range", 3100), "ok", "chown range to 3100")
    check.equal(lstat("range").st_uid, 2100, "lower uid of range: 2100")
    check.equal(chown("container/c", 100009, 100010), "ok", "chown container/c to 100009:100010")
    check.equal((lstat("container/c").st_uid, lstat("container/c").st_gid), (9, 10),
                "lower ids of container/c: 9:10")
    check.equal(chown("container/c", 5), os.strerror(1), "chown container/c to 5: EPERM")
    check.equal(chown("public/f", 33, 33), "ok", "chown public/f to the id it shows")
    check.equal(lstat("public/f").st_uid, 7, "public/f keeps its lower owner")
    check.equal(chown("public/f", 34), os.strerror(1), "chown public/f to 34: EPERM")
    check.equal(chown("other", 5), "ok", "chown other (no map there) to 5")
    check.equal(lstat("other").st_uid, 5, "lower uid of other: 5")
    st = os.lstat(os.path.join(mnt, "range"))
    check.equal(st.st_uid, 3100, "stat after chown shows the view id")
    # chmod sets the lower mode; the view shows it rewritten.
    os.chmod(os.path.join(mnt, "public/f"), 0o777)
    check.equal(stat.S_IMODE(lstat("public/f").st_mode), 0o777, "chmod sets the lower mode")
    check.equal(stat.S_IMODE(os.lstat(os.path.join(mnt, "public/f")).st_mode), 0o644,
                "the view shows it masked")
    status = env.status(mnt)
    check.check(re.search(r"denied, [1-9]\d* attribute replies rewritten", status) is not None,
                f"fsrun status counts rewritten replies: {status}")
    # One lower file under two names with different rules: each name is
    # its own node with its own attributes, also while both are open.
    os.link(os.path.join(lower, "public/f"), os.path.join(lower, "container/hl"))
    with open(os.path.join(mnt, "public/f")) as a, open(os.path.join(mnt, "container/hl")) as b:
        check.equal((os.fstat(a.fileno()).st_uid, os.fstat(b.fileno()).st_uid), (33, 100007),
                    "a hard link under other rules shows its own owner")
        check.equal(stat.S_IMODE(os.fstat(b.fileno()).st_mode), 0o777,
                    "and its own mode (no mask there)")
    check.equal(os.lstat(os.path.join(mnt, "public/f")).st_uid, 33, "first name again")
    os.unlink(os.path.join(mnt, "container/hl"))
    check.equal(os.path.exists(os.path.join(mnt, "container/hl")), False, "the link is gone")
    check.equal(os.lstat(os.path.join(mnt, "public/f")).st_nlink, 1, "one name left")
    env.umount(mnt, proc)

    # The BPF filters compute the same rewrites (as root: fsc verify).
    if os.access(fsc, os.X_OK) and os.geteuid() == 0:
        r = subprocess.run([fsc, "verify", "--random-names=4", policy], capture_output=True,
                           text=True)
        check.equal(r.returncode, 0, f"fsc verify on the policy: {r.stdout}{r.stderr}")
    check.finish()


if __name__ == "__main__":
    main()
