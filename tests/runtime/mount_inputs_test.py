#!/usr/bin/env python3
"""Bad mount inputs and unprivileged use (docs/runtime.md, "Bad mount inputs"
and "Unprivileged use").

Every bad input of `fsrun mount`, in the foreground (-f) and in the
background, must be answered by one line naming the path (or option) and
the reason, exit status 2 for a usage error and 1 for anything else, and
leave nothing mounted, no daemon running and no control socket behind:

- LOWER or MNT missing or not a directory, given relative or absolute
  (relative ones are named as absolute paths); good relative and absolute
  ones mount;
- MNT inside LOWER, MNT equal to LOWER, LOWER inside MNT, MNT inside a
  lower root the policy declares;
- MNT already an fspol view (the first keeps serving and answering
  `fsrun status`), MNT inside an fspol view, MNT a view whose daemon died;
- unknown and malformed -o (usage errors, before the policy is compiled);
- a policy file missing, a directory, a FIFO (must not hang), unreadable;
  a lower root the policy declares missing or not a directory;
- a user without CAP_SETUID asking for allow_other, with and without
  user_allow_other in /etc/fuse.conf; /dev/fuse the user cannot open; an
  MNT the user cannot write.

Unprivileged use: a user (a uid of the test's own) mounts through
fusermount3, is told what it gave up (on stderr and in `fsrun status`),
uses the view (create, read, rename, list, remove), root is kept out (no
allow_other), and `fsrun umount` and `fusermount3 -u` by the user unmount.

The test runs in a private mount namespace (it re-executes itself under
unshare), where it can give /dev/fuse the mode users need, add its user to
/etc/passwd (fusermount3 needs a name) and choose /etc/fuse.conf, by bind
mounts the rest of the machine never sees. It is a child subreaper, so a
daemon that outlives its `fsrun mount` becomes its child and is found.
"""
import ctypes
import os
import shutil
import signal
import stat
import subprocess
import sys
import time

from fsrun_env import Checker, Env, is_mounted, policy_path, require_fuse, skip

NAMESPACE_MARK = "FSPOL_MOUNT_INPUTS_NS"
UID = 47213  # the test's user; added to /etc/passwd inside the namespace only
PR_SET_CHILD_SUBREAPER = 36


def enter_namespace():
    if os.environ.get(NAMESPACE_MARK):
        return
    require_fuse()
    if shutil.which("unshare") is None:
        skip("unshare missing (util-linux)")
    os.environ[NAMESPACE_MARK] = "1"
    os.execvp("unshare", ["unshare", "--mount", "--propagation", "private",
                          sys.executable, *sys.argv])


def children():
    """(pid, state) of this process's children, from /proc."""
    me = os.getpid()
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == me:
            out.append((int(entry), fields[0]))
    return out


class Inputs:
    def __init__(self):
        self.env = Env("mount-inputs")
        self.check = Checker(self.env)
        self.fsrun = self.env.fsrun
        self.tracked = set()  # daemons expected to run (their views are mounted)
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
            skip("cannot become a child subreaper")
        self.work = self.env.path("w")
        os.mkdir(self.work)
        os.chmod(self.work, 0o755)
        self.policy = os.path.join(self.work, "p.fspol")
        shutil.copy(policy_path(), self.policy)
        os.chmod(self.policy, 0o644)
        self.lower = self.mkdir("lower")
        with open(os.path.join(self.lower, "f"), "w") as f:
            f.write("lower file\n")
        self.mnt = self.mkdir("mnt")

    def mkdir(self, *parts):
        path = os.path.join(self.work, *parts)
        os.makedirs(path, exist_ok=True)
        return path

    def run(self, *args, cwd=None, user=None, timeout=30, env=None):
        cmd = [self.fsrun, *args]
        if user is not None:
            cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups"] + cmd
        self.env.commands.append(" ".join(cmd))
        try:
            return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd or self.work,
                                  timeout=timeout, env=env)
        except subprocess.TimeoutExpired as e:  # killed: a -f mount that went ahead
            self.check.check(False, f"{' '.join(args)}: no answer within {timeout} s")
            text = [(x or b"").decode(errors="replace") if isinstance(x, bytes) else (x or "")
                    for x in (e.stdout, e.stderr)]
            return subprocess.CompletedProcess(cmd, -1, *text)

    def mount(self, policy, lower, mnt, *extra, background=False, **kw):
        """A mount expected to be refused or (background) to return."""
        args = ["mount", policy, lower, mnt, *extra]
        return self.run(*(args if background else args + ["-f"]), timeout=10, **kw)

    def leftovers(self):
        """Children that should not be there: reaps exited ones, waits up to
        3 s for the rest to go, returns those still running."""
        deadline = time.time() + 3
        while True:
            alive = []
            for pid, state in children():
                if pid in self.tracked:
                    continue
                if state == "Z":
                    try:
                        os.waitpid(pid, os.WNOHANG)
                    except ChildProcessError:
                        pass
                    continue
                alive.append(pid)
            if not alive or time.time() > deadline:
                return alive
            time.sleep(0.05)

    def fspol_mounts(self):
        """fspol views (and any FUSE mount) below the work dir."""
        out = []
        with open("/proc/self/mountinfo") as f:
            for line in f:
                fields = line.split()
                fstype = fields[fields.index("-") + 1]
                mp = fields[4].encode().decode("unicode_escape")
                if fstype.startswith("fuse") and mp.startswith(self.env.work + "/"):
                    out.append(mp)
        return out

    def no_socket(self, name, mnt, user=None, env=None):
        """`fsrun status MNT` finds no control socket (none left behind)."""
        r = self.run("status", mnt, user=user, env=env)
        self.check.check(r.returncode == 1 and "(No such file or directory)" in r.stdout,
                         f"{name}: no control socket for {mnt}: {r.stdout.strip()!r}")

    def refused(self, name, r, status, *wanted, mnt=None, expect_mounts=(), user=None, env=None):
        """One error line with every `wanted` text, exit `status`, no new
        mount, no daemon left, no control socket for `mnt`."""
        err = r.stderr
        self.check.equal(r.returncode, status, f"{name}: exit status ({err.strip()!r})")
        lines = [l for l in err.splitlines() if l.strip() and l != "Try 'fsrun --help'."]
        self.check.check(len(lines) == 1 and lines[0].startswith("fsrun: error: "),
                         f"{name}: one error line: {err!r}")
        for text in wanted:
            self.check.check(text in err, f"{name}: {text!r} in {err!r}")
        mounts = self.fspol_mounts()
        self.check.equal(sorted(mounts), sorted(expect_mounts), f"{name}: FUSE mounts left")
        left = self.leftovers()
        self.check.equal(left, [], f"{name}: processes left")
        # Undo what a regression left, so that the next cases start clean.
        for pid in left:
            os.kill(pid, signal.SIGKILL)
        for mp in reversed(mounts):
            if mp not in expect_mounts:
                subprocess.run(["umount", "-l", mp], capture_output=True)
        if left:
            self.leftovers()
        if mnt is not None and status == 1:
            self.no_socket(name, mnt, user=user, env=env)

    def both(self, name, policy, lower, view, extra, status, *wanted, mnt=None, **kw):
        """The same refusal in the foreground and in the background; `mnt`
        is the canonical path whose control socket must not exist (looked
        for once, after both)."""
        for background in (False, True):
            label = f"{name} ({'background' if background else '-f'})"
            r = self.mount(policy, lower, view, *extra, background=background,
                           user=kw.get("user"), env=kw.get("env"))
            self.refused(label, r, status, *wanted, mnt=mnt if background else None, **kw)

    def mounted(self, name, r, mnt):
        """A background mount that worked: its daemon's pid, tracked."""
        self.check.equal(r.returncode, 0, f"{name}: exit status ({r.stderr.strip()!r})")
        if r.returncode != 0:
            return None
        self.env.mounts.append(mnt)
        self.check.check(is_mounted(mnt), f"{name}: {mnt} mounted")
        pids = [pid for pid, state in children() if state != "Z" and pid not in self.tracked]
        self.check.equal(len(pids), 1, f"{name}: one daemon")
        if pids:
            self.tracked.add(pids[0])
            return pids[0]
        return None

    def unmounted(self, name, mnt, pid, user=None, env=None):
        r = self.run("umount", mnt, user=user, env=env)
        self.check.equal(r.returncode, 0, f"{name}: fsrun umount ({r.stderr.strip()!r})")
        if mnt in self.env.mounts:
            self.env.mounts.remove(mnt)
        self.check.check(not is_mounted(mnt), f"{name}: unmounted")
        self.tracked.discard(pid)
        self.check.equal(self.leftovers(), [], f"{name}: daemon gone after umount")
        self.no_socket(name, mnt, user=user, env=env)

    # ---- the cases -----------------------------------------------------

    def good_paths(self):
        """Relative and absolute LOWER and MNT mount, in both modes."""
        for rel in (True, False):
            lower = "lower" if rel else self.lower
            mnt = "mnt" if rel else self.mnt
            what = "relative" if rel else "absolute"
            # Foreground: the daemon is the command itself.
            cmd = [self.fsrun, "mount", self.policy, lower, mnt, "-f"]
            proc = subprocess.Popen(cmd, cwd=self.work, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE, text=True)
            self.env.procs.append(proc)
            self.tracked.add(proc.pid)
            self.env.mounts.append(self.mnt)
            deadline = time.time() + 20
            while not is_mounted(self.mnt) and proc.poll() is None and time.time() < deadline:
                time.sleep(0.02)
            self.check.check(is_mounted(self.mnt), f"{what} paths, -f: mounted")
            if is_mounted(self.mnt):
                with open(os.path.join(self.mnt, "f")) as f:
                    self.check.equal(f.read(), "lower file\n", f"{what} paths, -f: the view")
            proc.send_signal(signal.SIGTERM)
            self.check.equal(proc.wait(timeout=20), 0, f"{what} paths, -f: exit after SIGTERM")
            self.tracked.discard(proc.pid)
            self.env.mounts.remove(self.mnt)
            self.check.check(not is_mounted(self.mnt), f"{what} paths, -f: unmounted")
            # Background.
            r = self.mount(self.policy, lower, mnt, background=True)
            pid = self.mounted(f"{what} paths, background", r, self.mnt)
            if pid is not None:
                st = self.env.status(self.mnt)
                self.check.check(f"lower: {self.lower}\n" in st, f"{what} LOWER resolved: {st!r}")
                self.unmounted(f"{what} paths, background", self.mnt, pid)

    def paths(self):
        file = os.path.join(self.work, "file")
        with open(file, "w") as f:
            f.write("x\n")
        w = self.work
        self.both("missing LOWER (relative)", self.policy, "nolower", "mnt", [], 1,
                  f"cannot open lower directory {w}/nolower: No such file or directory",
                  mnt=self.mnt)
        self.both("missing LOWER (absolute)", self.policy, f"{w}/nolower", self.mnt, [], 1,
                  f"cannot open lower directory {w}/nolower: No such file or directory",
                  mnt=self.mnt)
        self.both("LOWER a file", self.policy, "file", "mnt", [], 1,
                  f"cannot open lower directory {w}/file: Not a directory", mnt=self.mnt)
        self.both("missing MNT (relative)", self.policy, "lower", "nomnt", [], 1,
                  f"mount point {w}/nomnt: No such file or directory", mnt=f"{w}/nomnt")
        self.both("missing MNT (absolute)", self.policy, self.lower, f"{w}/nomnt", [], 1,
                  f"mount point {w}/nomnt: No such file or directory", mnt=f"{w}/nomnt")
        self.both("MNT a file", self.policy, "lower", "file", [], 1,
                  f"mount point {w}/file is not a directory", mnt=file)

        sub = self.mkdir("lower", "sub", "deeper")
        self.both("MNT inside LOWER", self.policy, "lower", sub, [], 1,
                  f"mount point {sub} is inside the lower directory {self.lower}: the view "
                  "would show itself", mnt=sub)
        self.both("MNT is LOWER", self.policy, "lower", "lower", [], 1,
                  f"mount point {self.lower} is the lower directory {self.lower} itself",
                  mnt=self.lower)
        # Through a symlink and a bind mount: the same directories.
        os.symlink("lower/sub", os.path.join(w, "link"))
        self.both("MNT inside LOWER through a symlink", self.policy, "lower", "link", [], 1,
                  f"mount point {w}/lower/sub is inside the lower directory", mnt=f"{w}/lower/sub")
        bind = self.mkdir("bind")
        subprocess.run(["mount", "--bind", self.lower, bind], check=True)
        self.env.mounts.append(bind)
        self.both("MNT inside LOWER through a bind mount", self.policy, bind, sub, [], 1,
                  f"mount point {sub} is inside the lower directory {bind}", mnt=sub)
        subprocess.run(["umount", bind], check=True)
        self.env.mounts.remove(bind)
        outer = self.mkdir("outer")
        inner = self.mkdir("outer", "inner")
        self.both("LOWER inside MNT", self.policy, inner, "outer", [], 1,
                  f"the lower directory {inner} is inside mount point {outer}: the mount "
                  "would cover it", mnt=outer)

        # The policy's own lower roots: missing, a file, holding MNT.
        roots = os.path.join(w, "roots.fspol")
        with open(roots, "w") as f:
            f.write('policy roots {\n  lower objects = "/nonexistent/fspol-objects";\n'
                    '  redirect "/o/**" to objects;\n}\n')
        self.both("a declared lower root missing", roots, "lower", "mnt", [], 1,
                  "cannot open lower root 'objects' (/nonexistent/fspol-objects): No such file "
                  "or directory (the policy's path; -o lower.objects=DIR gives another)",
                  mnt=self.mnt)
        self.both("-o lower.NAME a file", roots, "lower", "mnt", ["-o", "lower.objects=file"], 1,
                  f"cannot open lower root 'objects' ({file}): Not a directory", mnt=self.mnt)
        store = self.mkdir("store")
        inside = self.mkdir("store", "view")
        self.both("MNT inside a declared lower root", roots, "lower", inside,
                  ["-o", "lower.objects=store"], 1,
                  f"mount point {inside} is inside the lower root 'objects' ({store})",
                  mnt=inside)

    def views(self):
        """MNT already a view, inside a view, a view whose daemon died."""
        r = self.mount(self.policy, "lower", "mnt", background=True)
        pid = self.mounted("first view", r, self.mnt)
        if pid is None:
            return
        other = self.mkdir("other")
        self.both("the same MNT twice", self.policy, other, "mnt", [], 1,
                  f"mount point {self.mnt} is already an fspol view (of {self.lower}, daemon "
                  f"pid {pid}): `fsrun umount {self.mnt}` first", expect_mounts=[self.mnt])
        with open(os.path.join(self.mnt, "f")) as f:
            self.check.equal(f.read(), "lower file\n", "the first view still serves")
        st = self.run("status", self.mnt)
        self.check.check(st.returncode == 0 and f"pid: {pid}\n" in st.stdout,
                         f"the first view still answers status: {st.stdout!r}")
        inside = os.path.join(self.mnt, "sub")  # lower/sub through the view
        self.both("MNT inside an fspol view", self.policy, other, inside, [], 1,
                  f"mount point {inside} is inside the fspol view at {self.mnt}: a reload of "
                  "that view would detach this mount", expect_mounts=[self.mnt])
        # The daemon dies: the view stays mounted, answering ENOTCONN.
        os.kill(pid, signal.SIGKILL)
        self.tracked.discard(pid)
        os.waitpid(pid, 0)  # a child of ours (subreaper): gone once reaped
        self.both("MNT a view whose daemon died", self.policy, "lower", "mnt", [], 1,
                  f"mount point {self.mnt} is an fspol view whose daemon is gone",
                  f"`fsrun umount {self.mnt}` removes it", expect_mounts=[self.mnt])
        r = self.run("umount", self.mnt)
        self.check.equal(r.returncode, 0, f"umount of the dead view ({r.stderr.strip()!r})")
        self.env.mounts.remove(self.mnt)
        self.check.check(not is_mounted(self.mnt), "the dead view unmounted")
        self.no_socket("dead view", self.mnt)

    def options(self):
        bad = os.path.join(self.work, "bad.fspol")
        with open(bad, "w") as f:
            f.write("policy bad { hide nothing here }\n")
        cases = [
            ("unknown -o", ["-o", "bogus"], "unknown mount option 'bogus'"),
            ("unknown -o in a list", ["-o", "ro,bogus=1"], "unknown mount option 'bogus'"),
            ("malformed enum", ["-o", "cache=sometimes"],
             "option 'cache' takes auto, never or always, not 'sometimes'"),
            ("malformed bool", ["-o", "allow_other=maybe"],
             "option 'allow_other' takes true or false, not 'maybe'"),
            ("malformed number", ["-o", "threads=lots"],
             "option 'threads' takes a number (0..256), not 'lots'"),
            ("missing value", ["-o", "entry_timeout"],
             "option 'entry_timeout' takes a duration (seconds, or with ms, s, m, h), and was "
             "given none"),
            ("out of range", ["-o", "max_write=12"], "option 'max_write' takes 4096..1048576, not '12'"),
            ("a kernel flag with a value", ["-o", "ro=1"],
             "option 'ro' is a kernel flag and takes no value, not '1'"),
            ("-o policy= on fsrun mount", ["-o", "policy=other.fspol"],
             "-o policy=FILE is for mount.fspol; fsrun mount takes the policy as POLICY"),
            ("unknown flag", ["--bogus"], "unknown option '--bogus'"),
        ]
        for i, (name, extra, want) in enumerate(cases):
            self.both(name, self.policy, "lower", "mnt", extra, 2, want)
            # A usage error wins over a policy with errors: nothing compiled.
            if i % 3 == 0:
                r = self.mount(bad, "lower", "mnt", *extra)
                self.refused(f"{name}, bad policy", r, 2, want)
        r = self.run("mount", self.policy, "lower", "mnt", "-o")
        self.refused("-o without its list", r, 2, "-o needs an argument")
        r = self.run("mount", self.policy, "lower")
        self.refused("two arguments", r, 2, "mount needs POLICY LOWER MNT")

    def policies(self):
        w = self.work
        self.both("policy missing", "nope.fspol", "lower", "mnt", [], 1,
                  "nope.fspol: cannot open: No such file or directory", mnt=self.mnt)
        os.mkdir(os.path.join(w, "pdir"))
        self.both("policy a directory", "pdir", "lower", "mnt", [], 1,
                  "pdir: is a directory, not a policy file", mnt=self.mnt)
        os.mkfifo(os.path.join(w, "fifo.fspol"))
        self.both("policy a FIFO", "fifo.fspol", "lower", "mnt", [], 1,
                  "fifo.fspol: is a FIFO, not a policy file", mnt=self.mnt)
        self.both("policy a character device", "/dev/null", "lower", "mnt", [], 1,
                  "/dev/null: is a character device, not a policy file", mnt=self.mnt)

    # ---- unprivileged use -----------------------------------------------

    def bind_file(self, source, target):
        subprocess.run(["mount", "--bind", source, target], check=True)
        self.env.mounts.append(target)

    def unbind(self, target):
        subprocess.run(["umount", target], check=True)
        self.env.mounts.remove(target)

    def unprivileged(self):
        if shutil.which("setpriv") is None:
            print("note: setpriv missing: unprivileged use not tested")
            return
        w = self.work
        home = self.mkdir("user")
        os.chown(home, UID, UID)
        run_dir = self.mkdir("user", "run")
        os.chown(run_dir, UID, UID)
        os.chmod(run_dir, 0o700)
        env = dict(os.environ, XDG_RUNTIME_DIR=run_dir)
        lower = self.mkdir("user", "lower")
        mnt = self.mkdir("user", "mnt")
        for d in (lower, mnt):
            os.chown(d, UID, UID)
        with open(os.path.join(lower, "x"), "w") as f:
            f.write("user file\n")
        os.chown(os.path.join(lower, "x"), UID, UID)

        # This namespace's view of the system: the user has a name, fuse.conf
        # no user_allow_other, and /dev/fuse a mode of the test's choosing.
        with open("/etc/passwd") as f:
            passwd = f.read()
        fake_passwd = os.path.join(w, "passwd")
        with open(fake_passwd, "w") as f:
            f.write(passwd + ("" if passwd.endswith("\n") else "\n") +
                    f"fspolinputs:x:{UID}:{UID}::/nonexistent:/usr/sbin/nologin\n")
        self.bind_file(fake_passwd, "/etc/passwd")
        fuse_conf = os.path.join(w, "fuse.conf")
        with open(fuse_conf, "w") as f:
            f.write("# mount_max = 1000\n#user_allow_other\n")
        if not os.path.exists("/etc/fuse.conf"):
            print("note: no /etc/fuse.conf: user_allow_other cases not tested")
            fuse_conf = None
        else:
            self.bind_file(fuse_conf, "/etc/fuse.conf")
        dev = os.stat("/dev/fuse").st_rdev
        closed = os.path.join(w, "fuse-0600")
        open_ = os.path.join(w, "fuse-0666")
        os.mknod(closed, 0o600 | stat.S_IFCHR, dev)
        os.mknod(open_, 0o666 | stat.S_IFCHR, dev)
        os.chmod(open_, 0o666)

        def both(name, *args, **kw):
            self.both(name, *args, user=UID, env=env, **kw)

        self.bind_file(closed, "/dev/fuse")
        both("user, /dev/fuse not usable", self.policy, lower, mnt, [], 1,
             f"cannot mount on {mnt}: /dev/fuse: Permission denied (uid {UID} must be able to "
             "read and write it", mnt=mnt)
        self.unbind("/dev/fuse")
        self.bind_file(open_, "/dev/fuse")

        both("user, allow_other", self.policy, lower, mnt, ["-o", "allow_other"], 1,
             "allow_other: the daemon cannot act as other users",
             f"with the rights of uid {UID}; and /etc/fuse.conf has no user_allow_other",
             mnt=mnt)
        if fuse_conf:
            with open(fuse_conf, "w") as f:
                f.write("user_allow_other\n")
            for background in (False, True):
                r = self.mount(self.policy, lower, mnt, "-o", "allow_other",
                               background=background, user=UID, env=env)
                label = f"user, allow_other with user_allow_other ({background=})"
                self.refused(label, r, 1, "allow_other: the daemon cannot act as other users",
                             mnt=mnt, user=UID, env=env)
                self.check.check("fuse.conf" not in r.stderr,
                                 f"{label}: fuse.conf not blamed: {r.stderr!r}")
            with open(fuse_conf, "w") as f:
                f.write("#user_allow_other\n")
        both("user, MNT not writable", self.policy, lower, self.mnt, [], 1,
             f"mount point {self.mnt}: uid {UID} may not write it", mnt=self.mnt)
        secret = os.path.join(w, "secret.fspol")
        shutil.copy(self.policy, secret)
        os.chmod(secret, 0)
        both("user, policy unreadable", secret, lower, mnt, [], 1,
             f"{secret}: cannot open: Permission denied", mnt=mnt)

        # What a user can mount.
        r = self.mount(self.policy, "user/lower", "user/mnt", background=True, user=UID, env=env)
        pid = self.mounted("user mount", r, mnt)
        gave_up = (f"fsrun: info: unprivileged: uid {UID}, mounted through fusermount3; without: "
                   f"other users (allow_other: only uid {UID} may use the view), acting as each "
                   f"caller (lower operations run as uid {UID})")
        self.check.check(gave_up in r.stderr, f"user mount: says what it gave up: {r.stderr!r}")
        if pid is None:
            return
        with open("/proc/self/mountinfo") as f:
            line = next((l for l in f if f" {mnt} " in l), "")
        self.check.check(f"user_id={UID}" in line and "allow_other" not in line,
                         f"user mount: the user's, without allow_other: {line!r}")
        st = self.run("status", mnt, user=UID, env=env)
        self.check.check(st.returncode == 0 and f"unprivileged: uid {UID}, mounted through "
                         "fusermount3; without: other users" in st.stdout and
                         "callers: lower operations run as the daemon's user, only the mounting "
                         "user" in st.stdout, f"user mount: status says so: {st.stdout!r}")
        if "kernel passthrough on" not in st.stdout:
            self.check.check("kernel passthrough (" in st.stdout,
                             f"user mount: status names passthrough as given up: {st.stdout!r}")
        script = ("cd user/mnt && cat x && echo made > y && cat y && mkdir d && mv y d/z && "
                  "ls d && stat -c %u d/z && rm d/z && rmdir d && ls")
        r = subprocess.run(["setpriv", f"--reuid={UID}", f"--regid={UID}", "--clear-groups",
                            "sh", "-c", script], capture_output=True, text=True, cwd=w, timeout=30)
        self.check.equal((r.returncode, r.stdout),
                         (0, f"user file\nmade\nz\n{UID}\nx\n"), f"user mount: basic operations "
                         f"({r.stderr.strip()!r})")
        try:
            os.listdir(mnt)
            got = "allowed"
        except PermissionError:
            got = "EACCES"
        self.check.equal(got, "EACCES", "user mount: root is not let in (no allow_other)")
        self.unmounted("user mount, fsrun umount by the user", mnt, pid, user=UID, env=env)

        # Foreground, unmounted by the user with fusermount3 -u.
        cmd = ["setpriv", f"--reuid={UID}", f"--regid={UID}", "--clear-groups", self.fsrun,
               "mount", self.policy, lower, mnt, "-f"]
        proc = subprocess.Popen(cmd, cwd=w, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        self.env.procs.append(proc)
        self.tracked.add(proc.pid)
        self.env.mounts.append(mnt)
        # Serving once its control socket answers (after the kernel's INIT;
        # unmounted before that, the daemon could only fail).
        deadline = time.time() + 20
        while proc.poll() is None and time.time() < deadline:
            if is_mounted(mnt) and self.run("status", mnt, user=UID, env=env).returncode == 0:
                break
            time.sleep(0.05)
        self.check.check(is_mounted(mnt), "user mount -f: mounted")
        r = subprocess.run(["setpriv", f"--reuid={UID}", f"--regid={UID}", "--clear-groups",
                            "fusermount3", "-u", mnt], capture_output=True, text=True, timeout=30)
        self.check.equal(r.returncode, 0, f"user mount -f: fusermount3 -u ({r.stderr.strip()!r})")
        try:
            rc = proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            rc = None
        _, err = proc.communicate() if rc is not None else ("", "")
        self.check.equal(rc, 0, "user mount -f: the daemon exits 0 after fusermount3 -u")
        self.check.check(gave_up in (err or ""), f"user mount -f: says what it gave up: {err!r}")
        self.tracked.discard(proc.pid)
        self.env.mounts.remove(mnt)
        self.check.check(not is_mounted(mnt), "user mount -f: unmounted")
        self.check.equal(self.leftovers(), [], "user mount -f: nothing left running")
        self.no_socket("user mount -f", mnt, user=UID, env=env)


def main():
    enter_namespace()
    t = Inputs()
    start = time.time()
    for part in (t.good_paths, t.paths, t.views, t.options, t.policies, t.unprivileged):
        began = time.time()
        part()
        print(f"{part.__name__}: {time.time() - began:.1f} s")
    for pid, state in children():  # nothing of ours may outlive the test
        if state != "Z" and pid not in {p.pid for p in t.env.procs}:
            os.kill(pid, signal.SIGKILL)
    print(f"{time.time() - start:.1f} s")
    t.check.finish()


if __name__ == "__main__":
    main()
