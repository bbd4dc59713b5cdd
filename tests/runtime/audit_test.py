#!/usr/bin/env python3
"""Audit rules applied by the daemon.

Requests through a view with audit rules (on every modification, on reads
of some files by some callers, with and without a denial) must each leave
one JSON line per matching audit rule in the audit_log file, with the
time, the operation atom, the path as seen in the view, the caller's
uid/gid/pid/comm, the verdict and errno, the tag and the rule's file:line;
requests no rule audits leave none; the tags are those `fsc explain`
(ir_eval) gives for the same request; `fsrun status` counts the records.
An audit_log that cannot be opened, a relative one, or a symlink refuses
the mount."""
import json
import os
import re
import subprocess
import sys
import textwrap
import time

from fsrun_env import Checker, Env

POLICY = textwrap.dedent("""
    policy audited {
      option audit_log = "{log}";
      deny write on "/ro/**" errno EPERM;
      audit write, create, delete on "/**" tag "modify";
      audit read on "/secret/**" tag "secret-read" unless uid == 0;
    }
    """).lstrip()

ACT = r'''
import os, sys
root = sys.argv[1]
def attempt(fn):
    try:
        fn()
    except OSError:
        pass
attempt(lambda: open(os.path.join(root, "secret/s.txt")).read())
attempt(lambda: open(os.path.join(root, "plain.txt")).read())
attempt(lambda: open(os.path.join(root, "ro/r.txt"), "a").write("x"))
attempt(lambda: open(os.path.join(root, "notes.txt"), "w").write("n"))
attempt(lambda: os.unlink(os.path.join(root, "notes.txt")))
print(os.getpid())
'''


def main():
    env = Env("audit")
    check = Checker(env)
    fsc = os.path.join(os.path.dirname(env.fsrun), "fsc")
    extra = sys.argv[1] if len(sys.argv) > 1 else ""
    log = os.path.join(env.work, "audit.log")
    policy = os.path.join(env.work, "audited.fspol")
    with open(policy, "w") as f:
        f.write(POLICY.replace("{log}", log))
    lower = env.path("lower")
    os.makedirs(os.path.join(lower, "secret"))
    os.makedirs(os.path.join(lower, "ro"))
    for p in ("secret/s.txt", "plain.txt", "ro/r.txt"):
        with open(os.path.join(lower, p), "w") as f:
            f.write(p)
    for d in ("", "secret", "ro"):
        os.chmod(os.path.join(lower, d), 0o777)
    for p in ("secret/s.txt", "plain.txt", "ro/r.txt"):
        os.chmod(os.path.join(lower, p), 0o666)
    mnt = os.path.join(env.work, "mnt")
    proc = env.mount(lower, mnt, extra or None, policy=policy)

    pids = {}
    for uid in (0, 1000):
        prefix = [] if uid == 0 else ["setpriv", f"--reuid={uid}", f"--regid={uid}",
                                      "--clear-groups"]
        r = subprocess.run(prefix + [sys.executable, "-I", "-c", ACT, mnt], capture_output=True,
                           text=True, timeout=60)
        check.equal(r.returncode, 0, f"uid {uid}: requests ran: {r.stderr}")
        pids[uid] = int(r.stdout.strip())
    # The writer thread: give it a moment.
    records = []
    deadline = time.time() + 5
    while time.time() < deadline:
        with open(log) as f:
            records = [json.loads(line) for line in f if line.strip()]
        if len(records) >= 7:
            break
        time.sleep(0.05)
    seen = sorted((r["uid"], r["op"], r["path"], r["verdict"], r["errno"], r["tag"]) for r in records)
    want = []
    for uid in (0, 1000):
        want += [(uid, "write", "/ro/r.txt", "denied", "EPERM", "modify"),
                 (uid, "create", "/notes.txt", "allowed", None, "modify"),
                 (uid, "delete", "/notes.txt", "allowed", None, "modify")]
        # (the new file's writes go through kernel passthrough: the create
        # is the request, docs/runtime.md)
    want += [(1000, "read", "/secret/s.txt", "allowed", None, "secret-read")]
    check.equal(seen, sorted(want), "audit records (uid, op, path, verdict, errno, tag)")
    for r in records:
        check.check(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", r["time"]) is not None,
                    f"time format: {r['time']}")
        check.equal(r["pid"], pids[r["uid"]], f"pid of {r['op']} {r['path']}")
        check.check(r["comm"].startswith("python"), f"comm of {r['op']}: {r['comm']!r}")
        check.check(re.fullmatch(r".*audited\.fspol:(4|5)", r["rule"]) is not None,
                    f"rule location: {r['rule']}")
        check.equal(r["gid"], r["uid"], "gid recorded")
    # The same tags as the reference evaluator gives.
    for uid, path, op, tags in ((1000, "/secret/s.txt", "read", ["secret-read"]),
                                (0, "/secret/s.txt", "read", []),
                                (0, "/plain.txt", "read", []),
                                (0, "/ro/r.txt", "write", ["modify"])):
        r = subprocess.run([fsc, "explain", policy, path, "--op", op, "--uid", str(uid), "--gid",
                            str(uid), "--json"], capture_output=True, text=True)
        check.equal(json.loads(r.stdout)["audit"], tags, f"fsc explain audit tags of {op} {path}")
    status = env.status(mnt)
    check.check(f"audit: {len(records)} records to {log}, 0 dropped" in status,
                f"fsrun status counts the records: {status}")
    env.umount(mnt, proc)

    # A log that cannot be opened: nothing is mounted.
    bad = os.path.join(env.work, "bad.fspol")
    with open(bad, "w") as f:
        f.write(POLICY.replace("{log}", os.path.join(env.work, "no-such-dir", "audit.log")))
    r = subprocess.run([env.fsrun, "mount", bad, lower, mnt], capture_output=True, text=True,
                       timeout=30)
    check.check(r.returncode != 0 and "cannot open the audit log" in r.stderr,
                f"an unopenable audit log refuses the mount: {r.returncode} {r.stderr}")
    check.check(not os.path.ismount(mnt), "nothing mounted")
    # A relative path, or a symlink planted where the log goes: refused.
    link = os.path.join(env.work, "link.log")
    os.symlink("/etc/passwd", link)
    for where, reason in (("audit.log", "must be an absolute path"),
                          (link, "cannot open the audit log")):
        with open(bad, "w") as f:
            f.write(POLICY.replace("{log}", where))
        r = subprocess.run([env.fsrun, "mount", bad, lower, mnt], capture_output=True, text=True,
                           timeout=30)
        check.check(r.returncode != 0 and reason in r.stderr,
                    f"audit_log {where!r} refuses the mount: {r.returncode} {r.stderr}")
        check.check(not os.path.ismount(mnt), f"nothing mounted for audit_log {where!r}")
    check.finish()


if __name__ == "__main__":
    main()
