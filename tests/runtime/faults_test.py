#!/usr/bin/env python3
"""Faults under a live mount (docs/runtime.md, "Faults"): each provoked for
real on a view, each with its defined outcome checked: what the callers
get, what the daemon logs, whether the view keeps serving (a fresh
operation succeeds) or is cleanly gone, and that the lower tree holds
nothing that claims a success that did not happen.

  lower_full_write, lower_full_create, lower_full_writeback
      the lower tmpfs fills up mid-write and mid-create (ENOSPC)
  fd_limit
      the daemon's open-file limit reached by callers holding files
      (ENFILE, logged, decisions intact, serving again once they close)
  lower_removed, lower_renamed, lower_symlinked, lower_unmounted, lower_gone
      the lower directory removed, renamed, replaced by a symlink, its
      file system unmounted, its FUSE server killed
  daemon_stopped, daemon_killed_dev_fuse, daemon_killed_uring
      SIGSTOP then SIGCONT with requests waiting; SIGKILL with requests in
      flight (over /dev/fuse and over io_uring); `fsrun umount` afterwards
  reload_broken
      `fsrun reload` of a policy with a syntax error and one with an
      unknown user while three callers load the view

Each check is its own function and mount (lower_full_create reuses
lower_full_write's); the realistic policy is examples/android-media.fspol.
argv[1] adds mount options; FSPOL_FAULTS=name,... runs only those."""
import errno
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time

from fsrun_env import Checker, Env, is_mounted, policy_path

HERE = os.path.dirname(os.path.abspath(__file__))
ANDROID = os.path.join(HERE, "..", "..", "examples", "android-media.fspol")
EXTRA = sys.argv[1] if len(sys.argv) > 1 else ""


def errname(fn):
    """'ok' (or what fn returns, if not None), else the errno's name."""
    try:
        r = fn()
        return "ok" if r is None else r
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))


def wait_for(pred, seconds=10.0):
    """Polls pred until it holds or the deadline passes; its last value."""
    deadline = time.time() + seconds
    while True:
        v = pred()
        if v or time.time() > deadline:
            return v
        time.sleep(0.05)


def write(path, text, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


def android_tree(lower):
    write(os.path.join(lower, "DCIM/Camera/a.jpg"), "jpeg")
    write(os.path.join(lower, "DCIM/.thumbnails/t.jpg"), "thumb")
    write(os.path.join(lower, "Android/data/com.app/cache"), "private")
    os.makedirs(os.path.join(lower, "Music"), exist_ok=True)


def opts(*more):
    return ",".join(o for o in (*more, EXTRA) if o) or None


class Faults:
    def __init__(self):
        self.env = Env("faults")
        self.check = Checker(self.env)
        self.full = None  # lower_full_write's view, for lower_full_create

    def base(self, name):
        d = self.env.path(name)
        os.mkdir(d)
        return d

    def tmpfs(self, path, options):
        os.makedirs(path, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", path], check=True)
        self.env.mounts.append(path)

    def mount(self, lower, mnt, options=None, policy=None):
        """env.mount, and the daemon's log file."""
        proc = self.env.mount(lower, mnt, options, policy=policy)
        return proc, os.path.join(self.env.logs, f"fsrun-{len(self.env.procs) - 1}.log")

    def logged(self, log, text, seconds=10.0):
        return wait_for(lambda: text in open(log).read(), seconds)

    def socket_of(self, pid):
        """The control socket the daemon `pid` listens on (/proc/net/unix)."""
        inodes = set()
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if link.startswith("socket:["):
                inodes.add(link[8:-1])
        with open("/proc/net/unix") as f:
            for line in f:
                cols = line.split()
                if len(cols) >= 8 and cols[6] in inodes and cols[7].endswith(".sock"):
                    return cols[7]
        return None

    def fsrun(self, *args, timeout=60):
        return subprocess.run([self.env.fsrun, *args], capture_output=True, text=True,
                              timeout=timeout)

    def serves(self, mnt, rel, what):
        """A fresh create, write and read through the view succeed."""
        path = os.path.join(mnt, rel)

        def create_and_read():
            with open(path, "w") as f:
                f.write("fresh")
            with open(path) as f:
                return f.read()
        self.check.equal(errname(create_and_read), "fresh",
                         f"{what}: the view still serves (a fresh create)")

    def umounted(self, mnt, proc, what):
        """`fsrun umount` cleans up: no mount, no daemon, no control socket."""
        sock = self.socket_of(proc.pid) if proc.poll() is None else None
        self.check.check(sock is not None, f"{what}: the daemon's control socket found")
        r = self.fsrun("umount", mnt)
        self.check.equal(r.returncode, 0, f"{what}: fsrun umount ({r.stderr.strip()})")
        self.check.check(not is_mounted(mnt), f"{what}: no mount left")
        try:
            code = proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            code = "running"
        self.check.equal(code, 0, f"{what}: the daemon exits 0")
        if sock is not None:
            self.check.check(not os.path.exists(sock), f"{what}: control socket {sock} removed")
        if mnt in self.env.mounts:
            self.env.mounts.remove(mnt)

    # ---- the lower file system full -------------------------------------

    def lower_full_write(self):
        base = self.base("full")
        lower = os.path.join(base, "lower")
        self.tmpfs(lower, "size=1m,nr_inodes=64,mode=0755")
        android_tree(lower)
        mnt = os.path.join(base, "mnt")
        proc, log = self.mount(lower, mnt, opts(), policy=ANDROID)
        # Mid-write: every byte write(2) accepted is on the lower file, and
        # nothing after the first ENOSPC.
        fd = os.open(os.path.join(mnt, "DCIM/Camera/big.mp4"), os.O_WRONLY | os.O_CREAT, 0o644)
        accepted, err = 0, None
        while accepted < 4 << 20:
            try:
                accepted += os.write(fd, b"v" * 65536)
            except OSError as e:
                err = errno.errorcode[e.errno]
                break
        self.check.equal(err, "ENOSPC", "a write to a full lower")
        self.check.equal(errname(lambda: os.fsync(fd)), "ok", "fsync after ENOSPC")
        os.close(fd)
        with open(os.path.join(lower, "DCIM/Camera/big.mp4"), "rb") as f:
            data = f.read()
        self.check.equal((len(data), data == b"v" * len(data)), (accepted, True),
                         "the lower file holds exactly the bytes write(2) accepted")
        self.check.equal(os.stat(os.path.join(mnt, "DCIM/Camera/big.mp4")).st_size, accepted,
                         "the view's size is the lower's")
        self.check.equal(open(os.path.join(lower, "DCIM/Camera/a.jpg")).read(), "jpeg",
                         "other lower files intact")
        os.unlink(os.path.join(mnt, "DCIM/Camera/big.mp4"))
        self.serves(mnt, "DCIM/after.jpg", "lower full mid-write")
        self.check.check(proc.poll() is None, "lower full mid-write: daemon alive")
        self.full = (lower, mnt, proc)

    def lower_full_create(self):
        # Mid-create, on the same view (lower_full_write's): the tmpfs has
        # 64 inodes. Every create that answered success is there; the one
        # that failed left nothing.
        lower, mnt, proc = self.full
        made = []
        err = None
        for i in range(100):
            name = f"DCIM/Camera/p{i:03}.jpg"
            err = errname(lambda: open(os.path.join(mnt, name), "w").close())
            if err != "ok":
                break
            made.append(name)
        self.check.equal(err, "ENOSPC", "a create on a lower without free inodes")
        lower_names = sorted(f"DCIM/Camera/{n}" for n in os.listdir(os.path.join(lower, "DCIM/Camera"))
                             if n.startswith("p"))
        self.check.equal(lower_names, made, "the lower holds exactly the creates that succeeded")
        for what, fn in [("mkdir", lambda: os.mkdir(os.path.join(mnt, "Music/new"))),
                         ("symlink", lambda: os.symlink("a.jpg", os.path.join(mnt, "DCIM/l"))),
                         ("mknod", lambda: os.mkfifo(os.path.join(mnt, "DCIM/fifo")))]:
            self.check.equal(errname(fn), "ENOSPC", f"{what} on a lower without free inodes")
        self.check.equal(sorted(os.listdir(os.path.join(lower, "Music"))), [], "no partial mkdir")
        self.check.equal(sorted(os.listdir(os.path.join(mnt, "DCIM/Camera"))),
                         sorted(["a.jpg"] + [m.split("/")[-1] for m in made]),
                         "the view lists what the lower holds")
        for name in made:
            os.unlink(os.path.join(mnt, name))
        self.serves(mnt, "Music/fresh.mp3", "lower full mid-create")
        self.check.check(proc.poll() is None, "lower full mid-create: daemon alive")
        self.umounted(mnt, proc, "lower full")

    def lower_full_writeback(self):
        # With writeback caching (off by default) writes land in the page
        # cache; the lower's ENOSPC comes back at fsync.
        base = self.base("full_wb")
        lower = os.path.join(base, "lower")
        self.tmpfs(lower, "size=1m,mode=0755")
        mnt = os.path.join(base, "mnt")
        proc, _ = self.mount(lower, mnt, opts("passthrough=false", "writeback"))
        fd = os.open(os.path.join(mnt, "big"), os.O_WRONLY | os.O_CREAT, 0o644)
        for _ in range(32):
            os.write(fd, b"w" * 65536)
        self.check.equal(errname(lambda: os.fsync(fd)), "ENOSPC", "writeback: fsync reports ENOSPC")
        os.close(fd)
        size = os.stat(os.path.join(lower, "big")).st_size
        with open(os.path.join(lower, "big"), "rb") as f:
            self.check.check(size <= 1 << 20 and f.read() == b"w" * size,
                             f"writeback: the lower holds a prefix of what was written ({size} bytes)")
        os.unlink(os.path.join(mnt, "big"))
        self.serves(mnt, "after", "writeback after ENOSPC")
        self.umounted(mnt, proc, "writeback after ENOSPC")

    # ---- the daemon's open-file limit ------------------------------------

    def fd_limit(self):
        base = self.base("fds")
        lower = os.path.join(base, "lower")
        for i in range(120):
            write(os.path.join(lower, f"f{i:03}"), str(i))
        write(os.path.join(lower, "private/key"), "secret")
        # A rule on this very process's name: the name must be read for
        # every decision, also when the daemon is short of descriptors.
        comm = open("/proc/self/comm").read().strip()
        policy = os.path.join(base, "fds.fspol")
        with open(policy, "w") as f:
            f.write(f'policy fds {{\n  hide "/private" when comm == "{comm}";\n}}\n')
        mnt = os.path.join(base, "mnt")
        os.mkdir(mnt)
        log = os.path.join(self.env.logs, "fds.log")
        cmd = ["prlimit", "--nofile=64:64", self.env.fsrun, "mount", policy, lower, mnt, "-f"]
        if opts():
            cmd += ["-o", opts()]
        self.env.commands.append(" ".join(cmd) + " &")
        proc = subprocess.Popen(cmd, stdout=open(log, "w"), stderr=subprocess.STDOUT)
        self.env.procs.append(proc)
        self.env.mounts.append(mnt)
        self.check.check(wait_for(lambda: is_mounted(mnt), 20), "fd_limit: mounted")
        at = lambda rel: os.path.join(mnt, rel)
        self.check.equal(errname(lambda: os.stat(at("private"))), "ENOENT", "hidden before")
        held, err = [], None
        for i in range(120):
            try:
                held.append(os.open(at(f"f{i:03}"), os.O_RDONLY))
            except OSError as e:
                err = errno.errorcode[e.errno]
                break
        self.check.equal(err, "ENFILE", "an open past the daemon's limit")
        self.check.check(20 < len(held) < 64, f"files held before the limit: {len(held)}")
        self.check.check(self.logged(log, "fsrun: warning: out of file descriptors (open-file limit 64"),
                         "fd_limit: logged")
        before = sorted(os.listdir(lower))
        self.check.equal(errname(lambda: open(at("new"), "w").close()), "ENFILE",
                         "a create past the limit")
        self.check.equal(errname(lambda: os.listdir(mnt)), "ENFILE",
                         "an opendir past the limit")
        self.check.equal(sorted(os.listdir(lower)), before, "a refused create made nothing")
        # Decisions hold: the descriptors a request needs were kept.
        self.check.equal(errname(lambda: os.stat(at("private"))), "ENOENT",
                         "still hidden while callers hold every file")
        self.check.equal(errname(lambda: os.stat(at("f119")).st_size), 3, "a stat still works")
        st = self.fsrun("status", mnt, timeout=30)
        self.check.check(st.returncode == 0 and "requests answered ENFILE for want of one" in st.stdout,
                         f"status while out of descriptors: {st.stdout[-300:]}{st.stderr}")
        # Even with no descriptor at all (the limit lowered under the live
        # daemon), the rule on the process name never lets it through.
        nfds = len(os.listdir(f"/proc/{proc.pid}/fd"))
        subprocess.run(["prlimit", f"--pid={proc.pid}", f"--nofile={nfds}:64"], check=True)
        self.check.check(errname(lambda: os.stat(at("private"))) in ("ENOENT", "ENFILE"),
                         "hidden with no descriptor left")
        subprocess.run(["prlimit", f"--pid={proc.pid}", "--nofile=64:64"], check=True)
        for fd in held:
            os.close(fd)
        self.check.check(wait_for(lambda: "open files: 0," in self.fsrun("status", mnt).stdout),
                         "fd_limit: every handle released")
        self.check.equal(errname(lambda: open(at("f000")).read()), "0", "an open after callers closed")
        self.serves(mnt, "fresh", "fd_limit")
        self.umounted(mnt, proc, "fd_limit")

    # ---- the lower directory under the view ------------------------------

    def lower_case(self, name, fault, expect_entries, note):
        """Mounts android-media over a fresh lower, holds a file open,
        applies `fault(base, lower)`, then checks the outcome; returns
        (mnt, proc, base) still mounted."""
        base = self.base(name)
        lower = os.path.join(base, "lower")
        os.mkdir(lower)
        android_tree(lower)
        mnt = os.path.join(base, "mnt")
        proc, log = self.mount(lower, mnt, opts(), policy=ANDROID)
        fd = os.open(os.path.join(mnt, "DCIM/Camera/a.jpg"), os.O_RDONLY)
        fault(base, lower)
        self.check.equal(errname(lambda: os.pread(fd, 10, 0)), b"jpeg", f"{name}: an open file reads")
        os.close(fd)
        self.check.equal(errname(lambda: sorted(os.listdir(mnt))), expect_entries,
                         f"{name}: the view's root")
        self.check.check(os.stat(mnt).st_ino != 0, f"{name}: the view's root answers")
        self.check.check(self.logged(log, f"fsrun: warning: lower {lower}: {note}"),
                         f"{name}: logged ({note})")
        status = self.env.status(mnt)
        self.check.check(f"lower: {lower} ({note}" in status, f"{name}: status says it: {status[:400]}")
        self.check.check(proc.poll() is None, f"{name}: daemon alive")
        return mnt, proc, base

    def lower_removed(self):
        mnt, proc, base = self.lower_case(
            "removed", lambda base, lower: shutil.rmtree(lower), [], "removed since the mount")
        self.check.equal(errname(lambda: open(os.path.join(mnt, "new.jpg"), "w").close()), "ENOENT",
                         "removed: a create answers ENOENT")
        self.check.equal(errname(lambda: os.mkdir(os.path.join(mnt, "DCIM"))), "ENOENT",
                         "removed: mkdir answers ENOENT")
        self.check.check(not os.path.exists(os.path.join(base, "lower")), "removed: nothing recreated")
        self.umounted(mnt, proc, "lower removed")

    def lower_renamed(self):
        def fault(base, lower):
            os.rename(lower, os.path.join(base, "moved"))
        mnt, proc, base = self.lower_case("renamed", fault, ["Android", "DCIM", "Music"],
                                          "no longer the directory opened at mount")
        moved = os.path.join(base, "moved")
        self.check.check(f"now at {moved}" in self.env.status(mnt), "renamed: status says where")
        self.serves(mnt, "DCIM/new.jpg", "lower renamed")
        self.check.equal(open(os.path.join(moved, "DCIM/new.jpg")).read(), "fresh",
                         "renamed: the view writes into the moved directory")
        self.umounted(mnt, proc, "lower renamed")

    def lower_symlinked(self):
        def fault(base, lower):
            os.rename(lower, os.path.join(base, "moved"))
            write(os.path.join(base, "elsewhere/evil"), "evil")
            os.symlink(os.path.join(base, "elsewhere"), lower)
        mnt, proc, base = self.lower_case("symlinked", fault, ["Android", "DCIM", "Music"],
                                          "no longer the directory opened at mount")
        self.check.equal(errname(lambda: os.stat(os.path.join(mnt, "evil"))), "ENOENT",
                         "symlinked: the symlink's target is never served")
        self.serves(mnt, "Music/new.mp3", "lower replaced by a symlink")
        self.check.check(os.path.exists(os.path.join(base, "moved/Music/new.mp3")) and
                         os.listdir(os.path.join(base, "elsewhere")) == ["evil"],
                         "symlinked: writes land in the directory opened at mount")
        self.umounted(mnt, proc, "lower replaced by a symlink")

    def lower_unmounted(self):
        base = self.base("unmounted")
        lower = os.path.join(base, "lower")
        self.tmpfs(lower, "size=16m,mode=0755")
        android_tree(lower)
        mnt = os.path.join(base, "mnt")
        proc, log = self.mount(lower, mnt, opts(), policy=ANDROID)
        r = subprocess.run(["umount", lower], capture_output=True, text=True)
        self.check.check(r.returncode != 0 and "busy" in r.stderr,
                         f"unmounting the lower of a view is refused (busy): {r.stderr.strip()}")
        self.check.equal(errname(lambda: open(os.path.join(mnt, "DCIM/Camera/a.jpg")).read()),
                         "jpeg", "the view serves after the refused umount")
        r = subprocess.run(["umount", "-l", lower], capture_output=True, text=True)
        self.check.equal(r.returncode, 0, "a lazy umount of the lower")
        self.env.mounts.remove(lower)
        note = "no longer the directory opened at mount"
        self.check.check(self.logged(log, f"fsrun: warning: lower {lower}: {note}"),
                         "lazily unmounted lower: logged")
        self.check.equal(errname(lambda: open(os.path.join(mnt, "DCIM/Camera/a.jpg")).read()),
                         "jpeg", "the view serves the detached file system")
        self.serves(mnt, "DCIM/new.jpg", "lower lazily unmounted")
        self.check.equal(os.listdir(lower), [], "nothing written to the directory below the mount")
        self.umounted(mnt, proc, "lower lazily unmounted")

    def lower_gone(self):
        # The lower is itself a FUSE file system (another view) whose
        # server is killed.
        base = self.base("gone")
        lower = os.path.join(base, "lower")
        os.mkdir(lower)
        android_tree(lower)
        inner = os.path.join(base, "inner")
        inner_proc, _ = self.mount(lower, inner, opts())
        mnt = os.path.join(base, "mnt")
        proc, log = self.mount(inner, mnt, opts(), policy=ANDROID)
        self.check.equal(errname(lambda: open(os.path.join(mnt, "DCIM/Camera/a.jpg")).read()),
                         "jpeg", "stacked view reads")
        inner_proc.kill()
        inner_proc.wait(timeout=20)
        gone = ("ENOTCONN", "ECONNABORTED", "ECANCELED")  # as daemon_killed's callers get
        got = errname(lambda: os.listdir(os.path.join(mnt, "Music")))
        self.check.check(got in gone, f"lower gone: callers get ENOTCONN: {got}")
        got = errname(lambda: open(os.path.join(mnt, "x"), "w").close())
        self.check.check(got in gone, f"lower gone: a create gets ENOTCONN: {got}")
        note = "its file system no longer answers (Transport endpoint is not connected)"
        self.check.check(self.logged(log, f"fsrun: warning: lower {inner}: {note}"), "lower gone: logged")
        self.check.check(proc.poll() is None, "lower gone: the view's daemon stays")
        self.check.check(note in self.env.status(mnt), "lower gone: status says it")
        self.umounted(mnt, proc, "view over a gone lower")
        r = self.fsrun("umount", inner)
        self.check.equal(r.returncode, 0, "the dead lower view unmounts")
        self.env.mounts.remove(inner)
        self.check.equal(open(os.path.join(lower, "DCIM/Camera/a.jpg")).read(), "jpeg",
                         "lower gone: the tree below intact")

    # ---- the daemon stopped, killed ----------------------------------------

    def readers(self, paths):
        script = textwrap.dedent("""
            import errno, sys
            try:
                print(open(sys.argv[1]).read())
            except OSError as e:
                print(errno.errorcode[e.errno])
            """)
        procs = [subprocess.Popen([sys.executable, "-c", script, p], stdout=subprocess.PIPE, text=True)
                 for p in paths]
        self.env.procs.extend(procs)
        return procs

    def daemon_stopped(self):
        base = self.base("stopped")
        lower = os.path.join(base, "lower")
        os.mkdir(lower)
        android_tree(lower)
        for i in range(4):
            write(os.path.join(lower, f"DCIM/r{i}.jpg"), f"r{i}")
        mnt = os.path.join(base, "mnt")
        proc, _ = self.mount(lower, mnt, opts(), policy=ANDROID)
        os.kill(proc.pid, signal.SIGSTOP)
        waiting = self.readers([os.path.join(mnt, f"DCIM/r{i}.jpg") for i in range(4)])
        t = time.time()
        st = self.fsrun("status", mnt, timeout=30)
        self.check.check(st.returncode == 1 and "state: not answering" in st.stdout and
                         f"(pid {proc.pid}, stopped) does not answer within 5 s" in st.stdout,
                         f"status of a stopped daemon: {st.stdout}")
        self.check.check(time.time() - t < 15, "status of a stopped daemon returns")
        self.check.equal([p.poll() for p in waiting], [None] * 4, "callers wait while it is stopped")
        os.kill(proc.pid, signal.SIGCONT)
        got = [p.communicate(timeout=20)[0].strip() for p in waiting]
        self.check.equal(got, [f"r{i}" for i in range(4)], "waiting callers served once continued")
        self.check.check("policy: android_media" in self.env.status(mnt), "status once continued")
        # Unmounting a stopped daemon: the view goes at once; the daemon
        # exits (0) and removes its socket when continued.
        sock = self.socket_of(proc.pid)
        os.kill(proc.pid, signal.SIGSTOP)
        t = time.time()
        r = self.fsrun("umount", mnt, timeout=30)
        self.check.check(r.returncode == 0 and "stopped) does not answer" in r.stderr,
                         f"fsrun umount of a stopped daemon: {r.returncode} {r.stderr.strip()}")
        self.check.check(time.time() - t < 10, "fsrun umount of a stopped daemon returns")
        self.check.check(not is_mounted(mnt), "stopped daemon: view unmounted")
        self.env.mounts.remove(mnt)
        os.kill(proc.pid, signal.SIGCONT)
        try:
            code = proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            code = "running"
        self.check.equal(code, 0, "a daemon unmounted while stopped exits 0 once continued")
        self.check.check(sock is not None and not os.path.exists(sock),
                         f"its control socket {sock} removed")

    def daemon_killed(self, transport):
        base = self.base(f"killed_{transport}")
        lower = os.path.join(base, "lower")
        os.mkdir(lower)
        android_tree(lower)
        for i in range(4):
            write(os.path.join(lower, f"DCIM/k{i}.jpg"), f"k{i}" * 1000)
        mnt = os.path.join(base, "mnt")
        proc, _ = self.mount(lower, mnt, opts(transport), policy=ANDROID)
        mode = self.env.status(mnt)
        if transport == "uring=on" and "FUSE over io_uring" not in mode:
            print(f"note: daemon_killed over io_uring not run: {mode.split('mode: ')[1].splitlines()[0]}")
            self.umounted(mnt, proc, "killed (no io_uring)")
            return
        sock = self.socket_of(proc.pid)
        # Requests in flight: the daemon stopped, callers waiting on it,
        # then SIGKILL.
        with open(os.path.join(mnt, "DCIM/Camera/a.jpg"), "a") as f:
            f.write("+")
        os.kill(proc.pid, signal.SIGSTOP)
        waiting = self.readers([os.path.join(mnt, f"DCIM/k{i}.jpg") for i in range(4)])
        time.sleep(0.2)  # let them reach the view (a fixed wait: either way they must fail)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=20)
        try:
            got = sorted({p.communicate(timeout=20)[0].strip() for p in waiting})
        except subprocess.TimeoutExpired:
            got = ["hang"]
        in_flight = {"ENOTCONN", "ECONNABORTED", "ECANCELED"}
        self.check.check(got and set(got) <= in_flight,
                         f"{transport}: callers in flight when the daemon died get {got}")
        # (opendir: never answered from the kernel's caches)
        self.check.equal(errname(lambda: os.listdir(os.path.join(mnt, "DCIM"))), "ENOTCONN",
                         f"{transport}: the view after the daemon died")
        st = self.fsrun("status", mnt)
        self.check.check(st.returncode == 1 and "state: no daemon" in st.stdout,
                         f"{transport}: status of a dead daemon: {st.stdout}")
        r = self.fsrun("umount", mnt)
        self.check.equal(r.returncode, 0, f"{transport}: fsrun umount after SIGKILL ({r.stderr})")
        self.check.check(not is_mounted(mnt), f"{transport}: no mount left after SIGKILL")
        self.env.mounts.remove(mnt)
        self.check.check(sock is not None and not os.path.exists(sock),
                         f"{transport}: the dead daemon's socket {sock} removed")
        self.check.equal(open(os.path.join(lower, "DCIM/Camera/a.jpg")).read(), "jpeg+",
                         f"{transport}: lower intact")

    # ---- reload of a broken policy under load ------------------------------

    def reload_broken(self):
        base = self.base("reload")
        lower = os.path.join(base, "lower")
        os.mkdir(lower)
        android_tree(lower)
        os.chmod(os.path.join(lower, "DCIM"), 0o777)
        text = open(ANDROID).read()
        syntax = os.path.join(base, "syntax.fspol")
        with open(syntax, "w") as f:
            f.write(text.replace("deny exec on file", "deny exec on on file"))
        semantic = os.path.join(base, "semantic.fspol")
        with open(semantic, "w") as f:
            f.write(text.replace("unless uid == 1023", "unless uid == nosuchuser"))
        mnt = os.path.join(base, "mnt")
        proc, _ = self.mount(lower, mnt, opts(), policy=ANDROID)
        # Three callers (root, an app, a user outside the app range) each
        # doing what android-media answers the same way every time.
        script = textwrap.dedent("""
            import errno, os, sys, time
            mnt, end = sys.argv[1], time.time() + float(sys.argv[2])
            def op(name, fn):
                try:
                    fn()
                    r = "ok"
                except OSError as e:
                    r = errno.errorcode[e.errno]
                print(name, r)
            while time.time() < end:
                op("read", lambda: open(os.path.join(mnt, "DCIM/Camera/a.jpg")).read())
                op("private", lambda: os.stat(os.path.join(mnt, "Android/data/com.app")))
                op("thumb", lambda: open(os.path.join(mnt, "DCIM/.thumbnails/t.jpg"), "a").close())
                op("list", lambda: os.listdir(os.path.join(mnt, "DCIM")))
                op("create", lambda: open(os.path.join(mnt, "DCIM/u%d" % os.getuid()), "w").close())
            """)
        expect = {
            0: {"read": "ok", "private": "ok", "thumb": "EPERM", "list": "ok", "create": "ok"},
            10001: {"read": "ok", "private": "ok", "thumb": "EPERM", "list": "ok", "create": "ok"},
            5000: {"read": "ok", "private": "ENOENT", "thumb": "EPERM", "list": "ok", "create": "ok"},
        }
        loaders = {}
        for uid in expect:
            caller = [] if uid == 0 else ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups"]
            loaders[uid] = subprocess.Popen(caller + [sys.executable, "-c", script, mnt, "4"],
                                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            self.env.procs.append(loaders[uid])
        reloads = []
        end = time.time() + 3
        while time.time() < end:
            for path in (syntax, semantic):
                reloads.append((path, self.fsrun("reload", mnt, path)))
        bad, counts = [], 0
        for uid, p in loaders.items():
            out, err = p.communicate(timeout=60)
            if p.returncode != 0:
                bad.append(f"uid {uid} exit {p.returncode}: {err[-300:]}")
            for line in out.splitlines():
                name, r = line.split()
                counts += 1
                if r != expect[uid][name]:
                    bad.append(f"uid {uid} {name}: {r}")
        self.check.equal(bad[:5], [],
                         f"{counts} operations by 3 callers through {len(reloads)} broken reloads")
        self.check.check(counts > 150, f"the load ran ({counts} operations)")
        wants = {syntax: "syntax.fspol:", semantic: "semantic.fspol:"}
        for path, r in reloads:
            ok = (r.returncode == 1 and wants[path] in r.stderr and ": error: " in r.stderr and
                  "not reloaded; the old policy keeps serving" in r.stderr)
            if not ok:
                bad.append(f"{os.path.basename(path)}: {r.returncode} {r.stdout}{r.stderr}")
        self.check.equal(bad[:3], [], "every broken reload refused with its located diagnostic")
        syntax_err = next(r.stderr for p, r in reloads if p == syntax)
        semantic_err = next(r.stderr for p, r in reloads if p == semantic)
        print("syntax error reload:", syntax_err.splitlines()[0])
        print("semantic error reload:", semantic_err.splitlines()[0])
        self.check.check("unknown user 'nosuchuser'" in semantic_err, "the semantic error named")
        status = self.env.status(mnt)
        self.check.check("policy: android_media (" in status, "status: the old policy serves")
        self.check.check(proc.poll() is None, "reload under load: daemon alive")
        self.umounted(mnt, proc, "reload of broken policies")

    def run(self):
        checks = [
            ("lower_full_write", self.lower_full_write),
            ("lower_full_create", self.lower_full_create),  # on lower_full_write's view
            ("lower_full_writeback", self.lower_full_writeback),
            ("fd_limit", self.fd_limit),
            ("lower_removed", self.lower_removed),
            ("lower_renamed", self.lower_renamed),
            ("lower_symlinked", self.lower_symlinked),
            ("lower_unmounted", self.lower_unmounted),
            ("lower_gone", self.lower_gone),
            ("daemon_stopped", self.daemon_stopped),
            ("daemon_killed_dev_fuse", lambda: self.daemon_killed("uring=off")),
            ("daemon_killed_uring", lambda: self.daemon_killed("uring=on")),
            ("reload_broken", self.reload_broken),
        ]
        only = os.environ.get("FSPOL_FAULTS")  # lower_full_create needs lower_full_write
        for name, fn in checks:
            if only and name not in only.split(","):
                continue
            t = time.time()
            failures = len(self.check.failures)
            fn()
            print(f"{name}: {'ok' if len(self.check.failures) == failures else 'FAILED'} "
                  f"({time.time() - t:.1f} s)", flush=True)
        self.check.finish()


if __name__ == "__main__":
    Faults().run()
