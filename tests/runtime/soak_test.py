#!/usr/bin/env python3
"""Soak: parallel callers doing random operations through one view for a
given time, every result compared with a model, with a watchdog for
hangs and the daemon's memory and descriptors sampled throughout.

For each policy (examples/android-media.fspol, a realistic one, and
examples/passthrough.fspol, allow-all), a scripted tree is mounted and N
worker processes are forked. Each worker is one caller (root, Android's
system ids, apps, a stranger; uid, gid and groups set in the forked
process with setgroups/setresgid/setresuid) and owns a few directories
of the view, placed where the policy treats them differently (for
android-media: a camera folder, the thumbnail cache only the media
provider may write, an app-private directory hidden from strangers,
Download). Only its owner changes a directory, so one model per worker
predicts every result without races; everyone also reads, lists and
tries to write the shared read-only part (media, another app's private
files, the thumbnail cache). Operations: create, mkdir, symlink,
overwrite then read back, append, read (content checked), lstat (type,
size, mode and owner as the view rewrites them), listings, readlink,
chmod, truncate, set/get/list/remove xattrs, unlink, rmdir, rename
(within a directory, across directories and across the worker's trees,
where other rules answer EXDEV), and opens of hidden and denied paths.
The expected result is model.py's: ir_eval's verdict (`fsc explain
POLICY -` as a coprocess) for the lookups and atoms the kernel sends,
then the model tree. A mismatch fails with the worker, its caller, the
operation, the path, the expected and the actual result.

Watchdog: every operation has a deadline (--op-deadline, 10 s); a worker
past it counts as a hang: the daemon's threads (kernel stacks, wchan,
gdb backtraces where gdb exists), the stuck worker's kernel stack, the
FUSE connection's waiting count and `fsrun status` are printed, and the
test fails.

Memory and descriptors: the daemon's VmRSS, open fds and threads (and
`fsrun status --json`: inodes, open files, requests) are sampled every
--sample seconds. After a warm-up (--warmup, default a fifth of the run)
the workers pause with everything closed and an idle sample is the
baseline; at the end, with the workers gone, the idle sample must show
the same fds naming lower files (none but the lower root), no open
files, and an RSS at most --rss-slack MiB (default 2) above the
baseline. Measured over 10 minutes (docs/benchmarks.md, "Soak"): the RSS
grows about 1.7 MiB from the mount to the end of the warm-up (inodes the
kernel holds, a worker thread, allocator arenas) and 0.05 MiB in the 8
minutes after it, while 5 to 7 million operations run: a leak of one
byte per operation would show as 5 MiB or more. 2 MiB leaves room for a thread started
late (its stack and arena pages) and for the allocator. fds of the
transport (/dev/fuse clones, io_uring) come with threads the daemon
starts on demand and may only grow with them.

Prints ops per worker and in total, the duration, ops/s, the results by
kind, and the RSS/fd series; --report FILE also writes them as markdown
(bench/soak.sh). Exit 0 pass, 1 fail, 77 skip."""
import argparse
import errno
import hashlib
import json
import mmap
import os
import random
import select
import shutil
import signal
import stat
import struct
import subprocess
import sys
import time
import traceback

from fsrun_env import Checker, Env, skip
from model import Oracle, Tree, attr_view

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.path.join(HERE, "..", "..", "examples")

# Names a worker makes in its directories (and in their subdirectories).
NAMES = ["f0", "f1", "f2", "d0", "d1", "l0", "x.log"]
XATTRS = ["user.soak", "user.k2"]

# Per policy: the callers the workers take in turn (uid, gid, groups),
# the shared read-only tree (path -> file contents; dirs end in "/"), and
# where each worker's own directories go ({w}: the worker's number).
SCENARIOS = {
    "android-media": {
        # Android ids: root, an app with the media groups, the media
        # provider (1023), adb's shell (2000), another app, a uid outside
        # every range the policy names, system (1000).
        "callers": [(10057, 10057, [9997, 1015]), (1023, 1023, [1015]), (0, 0, []),
                    (99999, 99999, []), (2000, 2000, [1015, 9997]), (10123, 10123, [9997]),
                    (1000, 1000, [])],
        "shared": {
            "/Music/song.mp3": b"ID3 song" * 100,
            "/DCIM/Camera/IMG_0001.jpg": b"\xff\xd8 jpeg" * 300,
            "/DCIM/.thumbnails/123.jpg": b"\xff\xd8 thumb" * 20,
            "/Android/data/com.example/files/a.txt": b"private to com.example\n",
            "/Android/obb/com.game/main.obb": b"obb" * 1000,
            "/Android/media/": None,
            "/Download/tool.sh": b"#!/bin/sh\necho hi\n",
            "/Download/doc.pdf": b"%PDF-1.4" * 50,
        },
        "roots": ["/DCIM/soak-{w}", "/DCIM/.thumbnails/soak-{w}", "/Android/data/com.soak.w{w}",
                  "/Download/soak-{w}"],
    },
    "passthrough": {
        "callers": [(0, 0, []), (1000, 1000, [100]), (1001, 1001, []), (65534, 65534, []),
                    (2000, 100, [100, 1000])],
        "shared": {
            "/README": b"shared read-only\n",
            "/shared/a.txt": b"a" * 5000,
            "/shared/sub/b.bin": bytes(range(256)) * 40,
        },
        "roots": ["/soak-{w}", "/deep/x/soak-{w}"],
    },
}

# A worker's slot in the shared heartbeat page: the start of the current
# operation (0: none), operations done, mismatches, paused, the operation.
SLOT = struct.Struct("dqqq200s")
CONTROL = struct.Struct("q")  # 1: pause after the current operation


def is_errno(result):
    return isinstance(result, str) and result in ERRNO_NAMES


ERRNO_NAMES = set(errno.errorcode.values())


def digest(data):
    return f"{len(data)} bytes sha256:{hashlib.sha256(data).hexdigest()[:16]}"


def short(value):
    text = repr(value)
    return text if len(text) <= 160 else text[:160] + "..."


# ---- What a worker does through the view ----

def perform(mnt, op, path, arg):
    """One request through the view; its result as the model states it."""
    p = mnt + path
    try:
        if op == "stat":
            st = os.lstat(p)
            kind = ("dir" if stat.S_ISDIR(st.st_mode) else "symlink" if stat.S_ISLNK(st.st_mode)
                    else "file" if stat.S_ISREG(st.st_mode) else "other")
            return [kind, None if kind == "dir" else st.st_size, st.st_mode & 0o7777, st.st_uid,
                    st.st_gid]
        if op == "read":
            fd = os.open(p, os.O_RDONLY)
            try:
                chunks = []
                while True:
                    chunk = os.read(fd, 1 << 16)
                    if not chunk:
                        break
                    chunks.append(chunk)
            finally:
                os.close(fd)
            return digest(b"".join(chunks))
        if op == "held":
            # Opened, then unlinked or renamed while open, then read and
            # fstat()ed through the open file.
            fd = os.open(p, os.O_RDONLY)
            try:
                inner = perform(mnt, arg[0], path, arg[1])
                chunks, offset = [], 0
                while True:
                    chunk = os.pread(fd, 1 << 16, offset)
                    if not chunk:
                        break
                    chunks.append(chunk)
                    offset += len(chunk)
                return [inner, digest(b"".join(chunks)), os.fstat(fd).st_size]
            finally:
                os.close(fd)
        if op in ("write", "overwrite", "append", "create"):
            flags = {"write": os.O_WRONLY, "overwrite": os.O_WRONLY | os.O_TRUNC,
                     "append": os.O_WRONLY | os.O_APPEND,
                     "create": os.O_WRONLY | os.O_CREAT | os.O_EXCL}[op]
            fd = os.open(p, flags, 0o644)
            try:
                data = memoryview(arg if op in ("overwrite", "append") else b"")
                while data:
                    data = data[os.write(fd, data):]
            finally:
                os.close(fd)
        elif op == "truncate":
            os.truncate(p, arg)
        elif op == "chmod":
            os.chmod(p, arg)
        elif op == "mkdir":
            os.mkdir(p, 0o755)
        elif op == "symlink":
            os.symlink(arg, p)
        elif op == "readlink":
            return os.readlink(p)
        elif op == "delete":
            os.unlink(p)
        elif op == "rmdir":
            os.rmdir(p)
        elif op == "rename":
            os.rename(p, mnt + arg)
        elif op == "readdir":
            return sorted(os.listdir(p))
        elif op == "getxattr":
            return os.getxattr(p, arg, follow_symlinks=False).hex()
        elif op == "listxattr":
            return sorted(n for n in os.listxattr(p, follow_symlinks=False) if n.startswith("user."))
        elif op == "setxattr":
            os.setxattr(p, arg[0], arg[1], follow_symlinks=False)
        elif op == "removexattr":
            os.removexattr(p, arg, follow_symlinks=False)
        else:
            raise ValueError(f"unknown operation {op}")
        return "ok"
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))


def expected(tree, op, path, arg, caller):
    """The model's result for one request (perform's shape)."""
    if op == "rename":
        return tree.expect_rename(path, arg, caller)
    if op == "held":
        e = tree.expect("read", path, caller)
        if e != "ok":
            return e
        return [expected(tree, arg[0], path, arg[1], caller), digest(tree.data[path]), len(tree.data[path])]
    e = tree.expect(op, path, caller)
    if e != "ok":
        return e
    t = tree.types.get(path, "dir" if path == "/" else None)
    if op == "stat":
        v = tree.oracle.explain(path, "stat", t, caller)
        mode, uid, gid = attr_view(v, tree.modes[path], *tree.owners[path])
        size = None if t == "dir" else len(tree.targets[path]) if t == "symlink" else len(tree.data[path])
        return [t, size, mode, uid, gid]
    if op == "read":
        return digest(tree.data[path])
    if op == "readlink":
        return tree.targets[path]
    if op == "getxattr":
        value = tree.xattrs.get(path, {}).get(arg)
        return "ENODATA" if value is None else value.hex()
    if op == "listxattr":
        return sorted(tree.xattrs.get(path, {}))
    if op == "removexattr" and arg not in tree.xattrs.get(path, {}):
        return "ENODATA"
    return "ok"


def below(path, root):
    return path == root or path.startswith(root + "/")


def pick(rng, tree, roots, shared_files, shared_dirs):
    """A random request: (op, path, arg). Mostly in the worker's own
    directories (whose parents always exist in the model), some on the
    shared part."""
    if rng.random() < 0.15:
        op = rng.choice(["stat", "read", "read", "write", "getxattr", "readdir", "stat"])
        if op == "readdir":
            return op, rng.choice(shared_dirs), None
        path = rng.choice(shared_files + (shared_dirs if op == "stat" else []))
        return op, path, ("user.soak" if op == "getxattr" else None)
    root = rng.choice(roots)
    own = [p for p in tree.types if below(p, root) and p != root]
    dirs = [root] + [p for p in own if tree.types[p] == "dir" and p.count("/") <= root.count("/") + 1]
    files = [p for p in own if tree.types[p] == "file"]
    links = [p for p in own if tree.types[p] == "symlink"]
    nodes = [p for p in own if tree.types[p] != "symlink"]
    op = rng.choices(
        ["create", "mkdir", "symlink", "overwrite", "append", "read", "stat", "readdir", "readlink",
         "chmod", "truncate", "setxattr", "getxattr", "listxattr", "removexattr", "delete", "rmdir",
         "rename", "held", "missing"],
        [10, 4, 4, 10, 5, 8, 10, 6, 3, 5, 5, 4, 4, 2, 2, 6, 3, 7, 4, 2])[0]
    new = rng.choice(dirs).rstrip("/") + "/" + rng.choice(NAMES)
    if op in ("overwrite", "append", "read", "truncate", "delete", "held") and not files:
        op = "create"
    if op == "readlink" and not links:
        op = "symlink"
    if op in ("chmod", "setxattr", "getxattr", "listxattr", "removexattr") and not nodes:
        op = "mkdir"
    if op == "create":
        return op, new, None
    if op == "mkdir":
        return op, new, None
    if op == "symlink":
        return op, new, rng.choice(["f0", "../d0", "/no/such/target", "x" * rng.randint(1, 300)])
    if op in ("overwrite", "append"):
        size = (rng.choice([0, 1, 100, 4096, 5000, 65536, 200000]) if op == "overwrite"
                else rng.randint(1, 3000))
        return op, rng.choice(files), rng.randbytes(size)
    if op in ("read", "delete"):
        return op, rng.choice(files), None
    if op == "truncate":
        return op, rng.choice(files), rng.choice([0, 10, 4096, 70000])
    if op == "stat":
        return op, rng.choice(own + [root]), None
    if op == "readdir":
        return op, rng.choice(dirs), None
    if op == "readlink":
        return op, rng.choice(links), None
    if op == "chmod":
        path = rng.choice(nodes)
        modes = [0o700, 0o750, 0o755, 0o770, 0o775, 0o777] if tree.types[path] == "dir" else \
            [0o600, 0o640, 0o644, 0o660, 0o664, 0o666]
        return op, path, rng.choice(modes)
    if op == "setxattr":
        return op, rng.choice(nodes), (rng.choice(XATTRS), rng.randbytes(rng.randint(0, 64)))
    if op in ("getxattr", "removexattr"):
        return op, rng.choice(nodes), rng.choice(XATTRS)
    if op == "listxattr":
        return op, rng.choice(nodes), None
    if op == "rmdir":
        candidates = [p for p in own if tree.types[p] == "dir"]
        return ("rmdir", rng.choice(candidates), None) if candidates else ("mkdir", new, None)
    if op == "held":
        path = rng.choice(files)
        dst = rng.choice(dirs).rstrip("/") + "/" + rng.choice(NAMES)
        if rng.random() < 0.5 or below(path, dst):
            return op, path, ("delete", None)
        return op, path, ("rename", dst)
    if op == "rename":
        src = rng.choice(own) if own else None
        if src is None:
            return "create", new, None
        # Mostly within the same tree; sometimes to another of the
        # worker's trees, where other rules may apply (EXDEV).
        other = rng.choice(roots) if rng.random() < 0.3 else root
        targets = [other] + [p for p in tree.types if below(p, other) and p != other
                             and tree.types[p] == "dir" and p.count("/") <= other.count("/") + 1]
        dst = rng.choice(targets).rstrip("/") + "/" + rng.choice(NAMES)
        if below(dst, src) and dst != src or below(src, dst) and dst != src:
            return "stat", src, None  # into itself or over an ancestor: the kernel's own EINVAL/ENOTEMPTY
        return op, src, dst
    # A name that is not there (any more).
    return "stat", new + ".missing", None


def worker_main(index, args, scenario, policy, fsc, mnt, model_types, shm, end, result_fd):
    """A forked worker: becomes its caller, then requests until `end`."""
    rng = random.Random(args.seed * 1000 + index)
    uid, gid, groups = scenario["callers"][index % len(scenario["callers"])]
    caller = (uid, gid)
    tree = Tree(Oracle(fsc, policy))
    others = [r.format(w=i) for r in scenario["roots"] for i in range(args.workers) if i != index]
    for path, (t, data, mode, owner, xattrs, target) in model_types.items():
        if any(below(path, r) and path != r for r in others):
            continue  # another worker's, changing: only its directory is the model's
        tree.modes[path], tree.owners[path], tree.xattrs[path] = mode, owner, dict(xattrs)
        if path == "/":
            continue  # implied in the tree
        tree.types[path] = t
        if data is not None:
            tree.data[path] = data
        if target is not None:
            tree.targets[path] = target
    # fsc runs (and reads the policy) before the caller changes.
    tree.oracle.explain("/", "lookup", "dir", caller)
    tree.oracle.hides_below(0)
    os.setgroups(groups)
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    os.umask(0)
    roots = [r.format(w=index) for r in scenario["roots"]]
    shared_files = [p for p, v in scenario["shared"].items() if v is not None]
    shared_dirs = sorted({"/"} | {p for p in tree.types if tree.types[p] == "dir"
                                  and not any(below(p, r.format(w=i)) for r in scenario["roots"]
                                              for i in range(args.workers))})
    counts, mismatches = {}, []
    ops = 0
    base = index * SLOT.size + CONTROL.size

    def run(op, path, arg, label=None):
        """One request: the model's answer, the view's under the watchdog,
        compared; the model follows what the view did. The result."""
        nonlocal ops
        want = expected(tree, op, path, arg, caller)
        what = f"{label or op} {path}" + ("" if arg is None else f" {short(arg)}")
        SLOT.pack_into(shm, base, time.time(), ops, len(mismatches), 0, what.encode()[:200])
        got = perform(mnt, op, path, arg)
        ops += 1
        kind = got if is_errno(got) else "ok"
        counts.setdefault(label or op, {}).setdefault(kind, 0)
        counts[label or op][kind] += 1
        if got != want:
            mismatches.append(f"worker {index} (uid {uid}, gid {gid}, groups {groups}), op {ops}: "
                              f"{what}: expected {short(want)}, got {short(got)}")
        SLOT.pack_into(shm, base, 0.0, ops, len(mismatches), 0, b"")
        if op == "held":
            if isinstance(got, list):
                kind = got[0] if is_errno(got[0]) else "ok"
                counts.setdefault(f"held, {arg[0]}", {}).setdefault(kind, 0)
                counts[f"held, {arg[0]}"][kind] += 1
                tree.apply(arg[0], path, kind, arg[1], caller)
        else:
            tree.apply(op, path, kind, arg, caller)
        return kind

    try:
        while time.monotonic() < end and len(mismatches) < 10:
            if CONTROL.unpack_from(shm, 0)[0] == 1:  # pause: everything is closed between ops
                SLOT.pack_into(shm, base, 0.0, ops, len(mismatches), 1, b"paused")
                while CONTROL.unpack_from(shm, 0)[0] == 1:
                    time.sleep(0.05)
            op, path, arg = pick(rng, tree, roots, shared_files, shared_dirs)
            if run(op, path, arg) == "ok" and op == "overwrite":
                run("read", path, None, label="read back")
        error = None
    except Exception:
        error = traceback.format_exc()
    tree.oracle.close()
    report = {"index": index, "caller": [uid, gid, groups], "ops": ops, "counts": counts,
              "mismatches": mismatches, "error": error}
    data = json.dumps(report).encode()
    while data:
        data = data[os.write(result_fd, data):]
    os.close(result_fd)


# ---- The tree, the daemon, the watchdog ----

def build(lower, scenario, workers):
    """The shared part (root's, files 0666 so that only the policy
    refuses a write) and each worker's directories (its own, 0755, with
    a seed file and a subdirectory). Returns the model's view of it:
    path -> (type, data, mode, owner, xattrs, target)."""
    model = {"/": ("dir", None, 0o755, (0, 0), {}, None)}
    os.makedirs(lower)
    os.chmod(lower, 0o755)

    def mkdirs(path):
        parts = [c for c in path.split("/") if c]
        for i in range(1, len(parts) + 1):
            q = "/" + "/".join(parts[:i])
            if q not in model:
                os.mkdir(lower + q, 0o755)
                os.chmod(lower + q, 0o755)
                model[q] = ("dir", None, 0o755, (0, 0), {}, None)

    for path, data in sorted(scenario["shared"].items()):
        if data is None:
            mkdirs(path.rstrip("/"))
            continue
        mkdirs(os.path.dirname(path))
        with open(lower + path, "wb") as f:
            f.write(data)
        os.chmod(lower + path, 0o666)
        model[path] = ("file", data, 0o666, (0, 0), {}, None)
    for w in range(workers):
        uid, gid, _ = scenario["callers"][w % len(scenario["callers"])]
        for root in scenario["roots"]:
            root = root.format(w=w)
            mkdirs(os.path.dirname(root))
            for path, t in ((root, "dir"), (root + "/d0", "dir"), (root + "/f0", "file"),
                            (root + "/d0/f1", "file")):
                data = f"seed {path}\n".encode() if t == "file" else None
                if t == "dir":
                    os.mkdir(lower + path, 0o755)
                else:
                    with open(lower + path, "wb") as f:
                        f.write(data)
                os.chmod(lower + path, 0o755 if t == "dir" else 0o644)
                os.chown(lower + path, uid, gid)
                model[path] = (t, data, 0o755 if t == "dir" else 0o644, (uid, gid), {}, None)
    return model


def fd_kinds(pid, lower):
    """The daemon's open fds by kind: lower (files below the lower root
    other than the root itself), transport (/dev/fuse, io_uring, eventfd),
    other."""
    kinds = {"lower": 0, "transport": 0, "other": 0}
    names = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith(lower + "/"):
            kinds["lower"] += 1
            names.append(target)
        elif target == "/dev/fuse" or "io_uring" in target or "eventfd" in target:
            kinds["transport"] += 1
        else:
            kinds["other"] += 1
    return kinds, names


class Sampler:
    def __init__(self, env, mnt, pid, lower):
        self.env, self.mnt, self.pid, self.lower = env, mnt, pid, lower
        self.series = []  # dicts
        self.t0 = time.monotonic()

    def status(self):
        try:
            r = subprocess.run([self.env.fsrun, "status", "--json", self.mnt], capture_output=True,
                               text=True, timeout=3)
            return json.loads(r.stdout) if r.returncode == 0 else {}
        except (subprocess.TimeoutExpired, ValueError):
            return {}

    def sample(self, label):
        values = {}
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                key, _, rest = line.partition(":")
                if key in ("VmRSS", "VmHWM", "Threads"):
                    values[key] = int(rest.split()[0])
        kinds, names = fd_kinds(self.pid, self.lower)
        st = self.status()
        s = {"label": label, "t": time.monotonic() - self.t0, "rss_kib": values["VmRSS"],
             "hwm_kib": values["VmHWM"], "threads": values["Threads"],
             "fds": sum(kinds.values()), "fd_kinds": kinds, "lower_fds": names,
             "inodes": st.get("inodes"), "open_files": st.get("open_files"),
             "requests": (st.get("requests") or {}).get("total")}
        self.series.append(s)
        return s

    def settle(self, label, timeout=10.0):
        """An idle sample once the kernel's RELEASEs arrived: no open
        files and no fd on a lower file (or the timeout)."""
        deadline = time.monotonic() + timeout
        while True:
            s = self.sample(label)
            if (s["open_files"] == 0 and s["fd_kinds"]["lower"] == 0) or time.monotonic() > deadline:
                return s
            self.series.pop()
            time.sleep(0.2)


def dump_hang(env, mnt, conn, daemon_pid, worker_pid, what):
    print(f"HANG: worker pid {worker_pid} stuck in {what}", file=sys.stderr)

    def read(path):
        try:
            with open(path) as f:
                return f.read().strip()
        except OSError as e:
            return f"({e.strerror})"
    print(f"worker kernel stack:\n{read(f'/proc/{worker_pid}/stack')}", file=sys.stderr)
    for tid in sorted(os.listdir(f"/proc/{daemon_pid}/task"), key=int):
        base = f"/proc/{daemon_pid}/task/{tid}"
        state = [l for l in read(f"{base}/status").splitlines() if l.startswith("State:")]
        print(f"daemon thread {tid} {read(base + '/comm')} {state} wchan {read(base + '/wchan')}\n"
              f"{read(base + '/stack')}", file=sys.stderr)
    print(f"fuse connection {conn}: waiting {read(f'/sys/fs/fuse/connections/{conn}/waiting')}",
          file=sys.stderr)
    if shutil.which("gdb"):
        try:
            r = subprocess.run(["gdb", "-p", str(daemon_pid), "-batch", "-nx", "-ex", "thread apply all bt"],
                               capture_output=True, text=True, timeout=120)
            print(r.stdout[-20000:], file=sys.stderr)
        except subprocess.TimeoutExpired:
            print("gdb timed out", file=sys.stderr)
    try:
        r = subprocess.run([env.fsrun, "status", mnt], capture_output=True, text=True, timeout=10)
        print(r.stdout + r.stderr, file=sys.stderr)
    except subprocess.TimeoutExpired:
        print("fsrun status timed out", file=sys.stderr)


class ForkedWorker:
    """A forked worker as Env.cleanup expects a process (killed by pid)."""

    def __init__(self, pid):
        self.pid = pid
        self.returncode = None

    def poll(self):
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid != 0:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def kill(self):
        if self.poll() is None:
            os.kill(self.pid, signal.SIGKILL)

    def wait(self, timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(str(self.pid), timeout)
            time.sleep(0.05)
        return self.returncode


def soak(env, check, name, args, report):
    scenario = SCENARIOS[name]
    policy = os.path.abspath(os.path.join(EXAMPLES, name + ".fspol"))
    fsc = os.path.join(os.path.dirname(env.fsrun), "fsc")
    lower = env.path(f"lower-{name}")
    mnt = os.path.join(env.work, f"mnt-{name}")
    model_types = build(lower, scenario, args.workers)
    proc = env.mount(lower, mnt, args.options, policy=policy)
    conn = os.minor(os.stat(mnt).st_dev)  # the view's /sys/fs/fuse/connections entry
    sampler = Sampler(env, mnt, proc.pid, lower)
    sampler.settle("mounted")

    shm = mmap.mmap(-1, CONTROL.size + SLOT.size * args.workers)
    start = time.monotonic()
    end = start + args.seconds
    warmup_end = start + args.warmup
    workers = []
    for index in range(args.workers):
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                os.close(r)
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                worker_main(index, args, scenario, policy, fsc, mnt, model_types, shm, end, w)
            except BaseException:
                traceback.print_exc()
                code = 1
            os._exit(code)
        os.close(w)
        fw = ForkedWorker(pid)
        env.procs.append(fw)
        workers.append((fw, r))

    def watchdog(until, pausing=False):
        """Watches the workers until `until` (or, pausing, until all are
        paused; or all gone); samples meanwhile. False on a hang."""
        next_sample = time.monotonic() + args.sample
        while time.monotonic() < until:
            now = time.time()
            alive = 0
            paused = 0
            for index, (fw, _) in enumerate(workers):
                started, _ops, _mis, is_paused, what = SLOT.unpack_from(shm, CONTROL.size + index * SLOT.size)
                if fw.poll() is None:
                    alive += 1
                    paused += is_paused
                if started and now - started > args.op_deadline and fw.poll() is None:
                    what = what.rstrip(b"\0").decode(errors="replace")
                    dump_hang(env, mnt, conn, proc.pid, fw.pid, what)
                    check.check(False, f"{name}: worker {index} hung for {now - started:.0f} s in {what}")
                    return False
            if alive == 0 or (pausing and paused == alive):
                return True
            if time.monotonic() >= next_sample and not pausing:
                sampler.sample("load")
                next_sample += args.sample
            time.sleep(0.1)
        return not pausing

    ok = watchdog(warmup_end)
    baseline = None
    if ok:
        CONTROL.pack_into(shm, 0, 1)
        ok = watchdog(time.monotonic() + 2 * args.op_deadline, pausing=True)
        if ok:
            baseline = sampler.settle("after warm-up, idle")
        else:
            check.check(False, f"{name}: workers did not pause")
        CONTROL.pack_into(shm, 0, 0)
    if ok:
        # Workers stop at `end` (the pause does not move it).
        ok = watchdog(end + 2 * args.op_deadline)
    reports = []
    if not ok:
        # A request the daemon holds keeps its caller in the kernel, even
        # from SIGKILL: end the connection first.
        proc.kill()
        for fw, _ in workers:
            fw.kill()
    for index, (fw, r) in enumerate(workers):
        data = b""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if not select.select([r], [], [], 1)[0]:
                continue
            chunk = os.read(r, 1 << 16)
            if not chunk:
                break
            data += chunk
        os.close(r)
        try:
            fw.wait(timeout=30)
        except subprocess.TimeoutExpired:
            fw.kill()
        check.equal(fw.returncode, 0, f"{name}: worker {index} exit status")
        try:
            reports.append(json.loads(data))
        except ValueError:
            reports.append({"index": index, "ops": 0, "counts": {}, "mismatches": ["no report"],
                            "error": None})
    duration = time.monotonic() - start
    if not ok:
        return
    final = sampler.settle("end, idle")

    total = sum(rep["ops"] for rep in reports)
    print(f"\n== {name}: {args.workers} workers, {duration:.1f} s, {total} operations, "
          f"{total / duration:.0f} ops/s")
    for rep in reports:
        uid, gid, groups = rep.get("caller", [None, None, None])
        print(f"  worker {rep['index']}: uid {uid} gid {gid} groups {groups}: {rep['ops']} ops")
        check.check(rep["ops"] > 0, f"{name}: worker {rep['index']} did operations")
        check.check(rep.get("error") is None, f"{name}: worker {rep['index']} ran: {rep.get('error')}")
        for m in rep["mismatches"]:
            check.check(False, f"{name}: MISMATCH {m}")
    kinds = {}
    for rep in reports:
        for op, results in rep["counts"].items():
            for kind, n in results.items():
                kinds.setdefault(op, {}).setdefault(kind, 0)
                kinds[op][kind] += n
    print("  results: " + "; ".join(f"{op} " + ", ".join(f"{k} {n}" for k, n in sorted(r.items()))
                                    for op, r in sorted(kinds.items())))
    print_series(name, sampler.series)

    # Leaks: compared with the idle sample after the warm-up.
    if baseline is not None:
        check.equal(final["open_files"], 0, f"{name}: open files after the run")
        check.equal(final["fd_kinds"]["lower"], 0,
                    f"{name}: fds on lower files after the run ({final['lower_fds']})")
        check.check(final["fd_kinds"]["other"] <= baseline["fd_kinds"]["other"],
                    f"{name}: other fds {baseline['fd_kinds']['other']} -> {final['fd_kinds']['other']}")
        check.check(final["fd_kinds"]["transport"] <= baseline["fd_kinds"]["transport"]
                    + 2 * max(0, final["threads"] - baseline["threads"]),
                    f"{name}: transport fds {baseline['fd_kinds']['transport']} -> "
                    f"{final['fd_kinds']['transport']} with threads {baseline['threads']} -> "
                    f"{final['threads']}")
        growth = final["rss_kib"] - baseline["rss_kib"]
        allowed = args.rss_slack * 1024
        if os.environ.get("FSPOL_SANITIZED"):
            # Shadow memory and ASan's quarantine are not the daemon's.
            print(f"{name}: RSS grew {growth} KiB (not bounded: a sanitizer build)")
        else:
            check.check(growth <= allowed, f"{name}: RSS grew {growth} KiB after the warm-up "
                        f"({baseline['rss_kib']} -> {final['rss_kib']} KiB), at most {allowed} KiB")
    report.append({"policy": name, "workers": args.workers, "seconds": duration, "ops": total,
                   "per_worker": [[rep.get("caller"), rep["ops"]] for rep in reports],
                   "results": kinds, "series": sampler.series})
    env.umount(mnt, proc)


def print_series(name, series):
    print(f"  {'t (s)':>7} {'RSS MiB':>8} {'HWM MiB':>8} {'fds':>4} {'lower':>5} {'thr':>4} "
          f"{'inodes':>7} {'open':>5} {'requests':>9}  when")
    for s in series:
        print(f"  {s['t']:7.1f} {s['rss_kib'] / 1024:8.2f} {s['hwm_kib'] / 1024:8.2f} {s['fds']:4d} "
              f"{s['fd_kinds']['lower']:5d} {s['threads']:4d} {s['inodes'] or 0:7d} "
              f"{s['open_files'] or 0:5d} {s['requests'] or 0:9d}  {s['label']}")


def write_report(path, args, report):
    with open(path, "w") as f:
        f.write(f"# fsrun soak, {time.strftime('%Y-%m-%d %H:%M')}\n\n"
                f"`soak_test.py --seconds {args.seconds:g} --workers {args.workers} --seed {args.seed}"
                f"{' --options ' + args.options if args.options else ''}` "
                f"({os.uname().release}, {os.cpu_count()} CPUs)\n\n")
        f.write("| policy | workers | minutes | operations | ops/s | RSS idle after warm-up → end (MiB) "
                "| fds idle after warm-up → end |\n|---|---|---|---|---|---|---|\n")
        for r in report:
            idle = [s for s in r["series"] if "idle" in s["label"]]
            rss = " → ".join(f"{s['rss_kib'] / 1024:.1f}" for s in idle[-2:])
            fds = " → ".join(str(s["fds"]) for s in idle[-2:])
            f.write(f"| {r['policy']} | {r['workers']} | {r['seconds'] / 60:.1f} | {r['ops']} | "
                    f"{r['ops'] / r['seconds']:.0f} | {rss} | {fds} |\n")
        for r in report:
            f.write(f"\n## {r['policy']}\n\nper worker (uid, gid, groups: ops): "
                    + ", ".join(f"{c[0]}/{c[1]}/{c[2]}: {n}" for c, n in r["per_worker"]) + "\n\n")
            f.write("results: " + "; ".join(f"{op} " + ", ".join(f"{k} {n}" for k, n in sorted(x.items()))
                                            for op, x in sorted(r["results"].items())) + "\n\n")
            f.write("| t (s) | RSS MiB | VmHWM MiB | fds | lower fds | threads | inodes | open files "
                    "| requests | when |\n|---|---|---|---|---|---|---|---|---|---|\n")
            for s in r["series"]:
                f.write(f"| {s['t']:.0f} | {s['rss_kib'] / 1024:.2f} | {s['hwm_kib'] / 1024:.2f} | "
                        f"{s['fds']} | {s['fd_kinds']['lower']} | {s['threads']} | {s['inodes']} | "
                        f"{s['open_files']} | {s['requests']} | {s['label']} |\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--policy", choices=list(SCENARIOS) + ["both"], default="both")
    parser.add_argument("--seconds", type=float, default=15, help="per policy")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--warmup", type=float, help="seconds before the baseline (default: a fifth)")
    parser.add_argument("--sample", type=float, help="seconds between samples (default: a tenth)")
    parser.add_argument("--op-deadline", type=float, default=10)
    parser.add_argument("--rss-slack", type=float, default=2, help="MiB of RSS growth allowed")
    parser.add_argument("--seed", type=int, default=int(os.environ.get("FSPOL_SOAK_SEED", "20261130")))
    parser.add_argument("--options", default="", help="more mount options")
    parser.add_argument("--report", help="write the numbers as markdown to this file")
    args = parser.parse_args()
    args.warmup = args.seconds / 5 if args.warmup is None else args.warmup
    args.sample = max(1.0, args.seconds / 10) if args.sample is None else args.sample
    env = Env("soak")
    check = Checker(env)
    for tool in ("fsc",):
        if not os.access(os.path.join(os.path.dirname(env.fsrun), tool), os.X_OK):
            skip(f"{tool} is not next to fsrun")
    print(f"soak: seed {args.seed}, {args.workers} workers, {args.seconds:g} s per policy")
    report = []
    for name in (SCENARIOS if args.policy == "both" else [args.policy]):
        soak(env, check, name, args, report)
    if args.report and report:
        write_report(args.report, args, report)
        print(f"report: {args.report}")
    check.finish()


if __name__ == "__main__":
    main()
