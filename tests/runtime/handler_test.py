#!/usr/bin/env python3
"""Userspace handlers applied by the daemon: examples/redact.fspol.

Through a view of examples/redact.fspol (its audit log moved into the work
dir), callers the handle rule serves (not root, not in group adm) read
every log redacted by the shipped redact_secrets handler, gzip logs
included; root and the adm group read them raw. For a served caller
st_size is the size of what it reads, and read, tail-style reads from
the end, pread, SEEK_DATA, mmap (MAP_PRIVATE; MAP_SHARED fails) and
copy_file_range all show the redacted bytes, also when a raw reader and a
served reader take turns on the same file (the daemon gives each view of
the file its own node, so the kernel's caches never mix them). A handled
symlink shows a redacted target. A handler that is not registered, or
one named for an operation other than read, refuses the mount with a
located error."""
import gzip
import json
import mmap
import os
import re
import subprocess
import sys
import textwrap
import time

from fsrun_env import Checker, Env

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLE = os.path.join(HERE, "..", "..", "examples", "redact.fspol")

RAW = ("2026-11-29 login user=bob password=hunter2 ok\n"
       "2026-11-29 mail sent to alice@example.com\n"
       "2026-11-29 GET /api Authorization: Bearer abcdef123456\n") * 50
REDACTED = ("2026-11-29 login user=bob password=[redacted] ok\n"
            "2026-11-29 mail sent to [redacted-email]\n"
            "2026-11-29 GET /api Authorization: Bearer [redacted]\n") * 50

# What one caller sees, printed as JSON (runs as that caller).
LOOK = r'''
import json, mmap, os, sys
root = sys.argv[1]
out = {}
p = os.path.join(root, "app", "app.log")
with open(p, "rb") as f:
    out["read"] = f.read().decode("latin-1")
out["size"] = os.stat(p).st_size
with open(p, "rb") as f:
    f.seek(-20, os.SEEK_END)
    out["tail"] = f.read().decode("latin-1")
    out["pread"] = os.pread(f.fileno(), 16, 30).decode("latin-1")
    try:
        out["seek_data"] = os.lseek(f.fileno(), 5, os.SEEK_DATA)
        out["seek_hole"] = os.lseek(f.fileno(), 5, os.SEEK_HOLE)
    except OSError as e:
        out["seek_data"] = out["seek_hole"] = e.errno
    with mmap.mmap(f.fileno(), 0, flags=mmap.MAP_PRIVATE, prot=mmap.PROT_READ) as m:
        out["mmap"] = m[:].decode("latin-1")
    try:
        with mmap.mmap(f.fileno(), 0, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ) as m:
            out["mmap_shared"] = m[:].decode("latin-1")
    except OSError as e:
        out["mmap_shared"] = e.errno
with open(os.path.join(root, "app", "app.log.1.gz"), "rb") as f:
    out["gz"] = f.read().hex()
out["gz_size"] = os.stat(os.path.join(root, "app", "app.log.1.gz")).st_size
out["notes"] = open(os.path.join(root, "notes.txt")).read()
out["core"] = os.path.exists(os.path.join(root, "app", "core"))
try:
    open(p, "a").write("x")
    out["write"] = 0
except OSError as e:
    out["write"] = e.errno
print(json.dumps(out))
'''

COPY = r'''
import os, sys
with open(os.path.join(sys.argv[1], "app", "app.log"), "rb") as src, \
        open(os.path.join(sys.argv[1], sys.argv[2]), "wb") as dst:
    while os.copy_file_range(src.fileno(), dst.fileno(), 1 << 20) != 0:
        pass
'''


def run_as(env, uid, gid, mnt, scratch):
    prefix = [] if uid == 0 and gid == 0 else ["setpriv", f"--reuid={uid}", f"--regid={gid}",
                                                "--clear-groups"]
    r = subprocess.run(prefix + [sys.executable, "-I", "-c", LOOK, mnt, scratch],
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError(f"uid {uid} gid {gid}: {r.stderr}")
    return json.loads(r.stdout)


def main():
    env = Env("handler")
    check = Checker(env)
    extra = sys.argv[1] if len(sys.argv) > 1 else ""
    lower = env.path("lower")
    os.makedirs(os.path.join(lower, "app"))
    with open(os.path.join(lower, "app", "app.log"), "w") as f:
        f.write(RAW)
    with open(os.path.join(lower, "app", "app.log.1.gz"), "wb") as f:
        f.write(gzip.compress(RAW.encode(), mtime=0))
    with open(os.path.join(lower, "app", "core"), "w") as f:
        f.write("dump")
    with open(os.path.join(lower, "notes.txt"), "w") as f:
        f.write("ops: carol@example.com\n")
    for root, dirs, files in os.walk(lower):
        os.chmod(root, 0o755)
        for name in files:
            os.chmod(os.path.join(root, name), 0o666)  # the policy refuses writes
    scratch = os.path.join(env.work, "scratch")
    os.mkdir(scratch)
    os.chmod(scratch, 0o777)
    log = os.path.join(env.work, "audit.log")
    policy = os.path.join(env.work, "redact.fspol")
    with open(EXAMPLE) as f:
        text = f.read()
    with open(policy, "w") as f:
        f.write(text.replace("/var/log/fspol/redact-audit.log", log))
    mnt = os.path.join(env.work, "mnt")
    proc = env.mount(lower, mnt, extra or None, policy=policy)

    gz_raw = gzip.compress(RAW.encode(), mtime=0)
    # Root, a served user, the adm group, the served user again, root again:
    # views of one file taking turns.
    for uid, gid, served in ((0, 0, False), (1000, 1000, True), (1001, 4, False),
                             (1000, 1000, True), (0, 0, False)):
        who = f"uid {uid} gid {gid}"
        seen = run_as(env, uid, gid, mnt, scratch)
        want = REDACTED if served else RAW
        check.check(seen["read"] == want, f"{who}: read gives the {'redacted' if served else 'raw'} log")
        check.equal(seen["size"], len(want), f"{who}: st_size is the size read")
        check.equal(seen["tail"], want[-20:], f"{who}: reading from the end")
        check.equal(seen["pread"], want[30:46], f"{who}: pread")
        check.equal((seen["seek_data"], seen["seek_hole"]), (5, len(want)) if served else
                    (seen["seek_data"], seen["seek_hole"]), f"{who}: SEEK_DATA/SEEK_HOLE")
        check.check(seen["mmap"] == want, f"{who}: a private mapping shows the same bytes")
        gz = bytes.fromhex(seen["gz"])
        check.equal(gzip.decompress(gz).decode(), want, f"{who}: the gzip log, uncompressed")
        check.equal(seen["gz_size"], len(gz), f"{who}: st_size of the gzip log")
        if not served:
            check.equal(gz, gz_raw, f"{who}: the gzip log is the lower file")
        check.equal(seen["notes"], "ops: carol@example.com\n", f"{who}: other files are not handled")
        check.equal(seen["core"], False, f"{who}: core dumps are hidden")
        check.equal(seen["write"], 30, f"{who}: the view is read-only (EROFS)")
        if "cache=auto" in extra:
            check.check(seen["mmap_shared"] == want, f"{who}: a shared mapping shows the same bytes")
        else:
            # The example's cache = never: no page cache to map.
            check.equal(seen["mmap_shared"], 19, f"{who}: MAP_SHARED fails with ENODEV")
    # Every read by a served caller is audited with the example's tag.
    deadline = time.time() + 5
    records = []
    while time.time() < deadline:
        with open(log) as f:
            records = [json.loads(line) for line in f if line.strip()]
        if any(r["tag"] == "log-read" for r in records):
            break
        time.sleep(0.05)
    reads = {(r["uid"], r["path"]) for r in records if r["tag"] == "log-read"}
    check.equal(reads, {(1000, "/app/app.log"), (1000, "/app/app.log.1.gz")},
                "log-read records: the served caller's reads only")
    # fsrun status counts what the policy did: five looks at the hidden
    # core dump, five refused writes, handled contents.
    status = env.status(mnt)
    m = re.search(r"policy decisions: (\d+) hidden, (\d+) denied, (\d+) attribute replies "
                  r"rewritten, (\d+) contents from handlers", status)
    check.check(m is not None and int(m[1]) >= 5 and int(m[2]) >= 5 and int(m[4]) >= 2,
                f"fsrun status counts hidden, denied and handled: {status}")
    env.umount(mnt, proc)

    # A gzip log that is cut short cannot be redacted: served callers get
    # EIO (and the daemon a log line), root still reads the raw bytes.
    whole = gzip.compress(RAW.encode(), mtime=0)
    broken = whole[:len(whole) // 2]
    with open(os.path.join(lower, "app", "app.log.2.gz"), "wb") as f:
        f.write(broken)
    os.chmod(os.path.join(lower, "app", "app.log.2.gz"), 0o666)
    proc = env.mount(lower, mnt, extra or None, policy=policy)
    r = subprocess.run(["setpriv", "--reuid=1000", "--regid=1000", "--clear-groups", "cat",
                        os.path.join(mnt, "app", "app.log.2.gz")], capture_output=True)
    check.check(r.returncode != 0 and b"Input/output error" in r.stderr,
                f"a broken gzip log fails with EIO for a served caller: {r.stderr!r}")
    with open(os.path.join(mnt, "app", "app.log.2.gz"), "rb") as f:
        check.check(f.read() == broken, "root reads the broken file as it is")
    env.umount(mnt, proc)
    logs = "".join(open(os.path.join(env.logs, f)).read() for f in os.listdir(env.logs))
    check.check("app.log.2.gz: the handler failed: not a complete gzip file" in logs,
                "the handler's failure is logged with the path")

    # A handled symlink: its target is what the handler makes of it; a
    # copy_file_range from a handled file copies what the caller reads.
    os.symlink("mailto:dave@example.com", os.path.join(lower, "contact"))
    os.chmod(lower, 0o777)
    links = os.path.join(env.work, "links.fspol")
    with open(links, "w") as f:
        f.write('policy links {\n  handle read on symlink "/contact" with redact_secrets;\n'
                '  handle read on "/app/app.log" with redact_secrets unless uid == 0;\n}\n')
    proc = env.mount(lower, mnt, extra or None, policy=links)
    for uid, want in ((1000, REDACTED), (0, RAW)):
        prefix = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups"] if uid else []
        r = subprocess.run(prefix + [sys.executable, "-I", "-c", COPY, mnt, f"copy-{uid}"],
                           capture_output=True, text=True, timeout=60)
        check.equal(r.returncode, 0, f"uid {uid}: copy_file_range ran: {r.stderr}")
        with open(os.path.join(lower, f"copy-{uid}")) as f:
            check.check(f.read() == want, f"uid {uid}: copy_file_range copies what uid {uid} reads")
    check.equal(os.readlink(os.path.join(mnt, "contact")), "mailto:[redacted-email]",
                "a handled symlink's target")
    check.equal(os.lstat(os.path.join(mnt, "contact")).st_size, len("mailto:[redacted-email]"),
                "st_size of a handled symlink")
    env.umount(mnt, proc)

    # Refusals: nothing is mounted, the error names the rule's line.
    for body, reason in (('  handle read on "/**" with upcase;\n',
                          "no handler 'upcase' is registered with fsrun"),
                         ('  handle read, write on "/**" with redact_secrets;\n',
                          "'write' cannot be handed to 'redact_secrets'")):
        bad = os.path.join(env.work, "bad.fspol")
        with open(bad, "w") as f:
            f.write("policy bad {\n" + body + "}\n")
        r = subprocess.run([env.fsrun, "mount", bad, lower, mnt], capture_output=True, text=True,
                           timeout=30)
        check.check(r.returncode != 0 and f"bad.fspol:2:3: error: " in r.stderr and reason in r.stderr,
                    f"refused with a located error ({reason}): {r.returncode} {r.stderr}")
        check.check(not os.path.ismount(mnt), "nothing mounted")
    check.finish()


if __name__ == "__main__":
    main()
