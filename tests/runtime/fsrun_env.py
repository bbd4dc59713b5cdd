"""Shared harness for the runtime end-to-end tests (tests/runtime).

Every test gets a private work directory holding a private tmpfs (so lower
and reference trees have nanosecond times, xattrs and sparse files), mounts
views with `fsrun mount -f` as a child process, and undoes everything it
did on exit, including on failure, timeouts (SIGTERM from ctest) and
Ctrl-C: every mount is unmounted (lazily if busy), every process started is
killed by pid, and the work directory is removed. On failure a repro.sh is
left next to the logs and its path printed.

Exit codes: 0 pass, 1 fail, 77 skip (printed reason).
"""
import atexit
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

SKIP = 77


def skip(reason):
    print(f"SKIP: {reason}")
    sys.exit(SKIP)


def require_fuse():
    if os.geteuid() != 0:
        skip("needs root (mounts a tmpfs and FUSE views)")
    if not os.path.exists("/dev/fuse"):
        skip("no /dev/fuse")
    if shutil.which("fusermount3") is None:
        skip("fusermount3 missing (Debian package fuse3)")


def fsrun_binary():
    path = os.environ.get("FSRUN")
    if not path or not os.access(path, os.X_OK):
        skip("FSRUN is not set to the fsrun binary")
    return path


def policy_path():
    return os.environ.get("FSPOL_POLICY") or os.path.join(
        os.path.dirname(__file__), "..", "..", "examples", "passthrough.fspol")


def is_mounted(path):
    path = os.path.realpath(path)
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mp = line.split()[4].encode().decode("unicode_escape")
            if mp == path:
                return True
    return False


class Env:
    """A private work dir with a tmpfs and helpers to mount fsrun views."""

    def __init__(self, name):
        require_fuse()
        self.fsrun = fsrun_binary()
        self.name = name
        self.work = tempfile.mkdtemp(prefix=f"fspol-{name}-")
        os.chmod(self.work, 0o755)  # other users (uid 1000 steps) reach the views
        self.mounts = []  # mount points to unmount, innermost last
        self.procs = []
        self.commands = []  # for repro.sh
        self.failed = False
        atexit.register(self.cleanup)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, self._on_signal)
        self.fs = os.path.join(self.work, "fs")
        os.mkdir(self.fs)
        self._run(["mount", "-t", "tmpfs", "-o", "size=8g,mode=0755", "tmpfs", self.fs])
        self.mounts.append(self.fs)
        self.logs = os.path.join(self.work, "logs")
        os.mkdir(self.logs)

    def _on_signal(self, signum, _frame):
        print(f"{self.name}: signal {signum}, cleaning up", file=sys.stderr)
        self.failed = True
        self.cleanup()
        os._exit(1)

    def _run(self, cmd):
        self.commands.append(" ".join(cmd))
        subprocess.run(cmd, check=True)

    def path(self, *parts):
        return os.path.join(self.fs, *parts)

    def mount(self, lower, mnt, options=None, policy=None):
        """Mounts `lower` on `mnt` with fsrun in the foreground; returns the
        daemon's Popen once the view answers."""
        os.makedirs(mnt, exist_ok=True)
        cmd = [self.fsrun, "mount", policy or policy_path(), lower, mnt, "-f"]
        if options:
            cmd += ["-o", options]
        self.commands.append(" ".join(cmd) + " &")
        log = open(os.path.join(self.logs, f"fsrun-{len(self.procs)}.log"), "w")
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        self.procs.append(proc)
        self.mounts.append(mnt)
        deadline = time.time() + 20
        while time.time() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"fsrun exited with {proc.returncode} before mounting; see {log.name}")
            if is_mounted(mnt):
                return proc
            time.sleep(0.02)
        raise RuntimeError("fsrun did not mount within 20 s")

    def status(self, mnt):
        r = subprocess.run([self.fsrun, "status", mnt], capture_output=True, text=True)
        if r.returncode != 0:
            logs = "".join(open(os.path.join(self.logs, f)).read()[-2000:]
                           for f in sorted(os.listdir(self.logs)))
            raise RuntimeError(f"fsrun status {mnt} failed: {r.stdout}{r.stderr}\ndaemon logs:\n{logs}")
        return r.stdout

    def require_transport(self, mnt, options):
        """With uring=on the view must really be served through io_uring
        (skips when the kernel cannot); with uring=off it must not be."""
        opts = (options or "").split(",")
        mode = self.status(mnt)
        ring = "FUSE over io_uring" in mode
        if "uring=on" in opts and not ring:
            note = mode.split("no io_uring: ", 1)[-1].split(")")[0] if "no io_uring" in mode else mode
            self.cleanup()
            skip(f"FUSE over io_uring unavailable: {note}")
        if "uring=off" in opts and ring:
            raise RuntimeError("uring=off but the view is served through io_uring")

    def umount(self, mnt, proc=None):
        subprocess.run([self.fsrun, "umount", mnt], check=True)
        if proc is not None:
            proc.wait(timeout=20)
        if mnt in self.mounts:
            self.mounts.remove(mnt)

    def cleanup(self):
        if self.work is None:
            return
        for mnt in reversed(self.mounts):
            if is_mounted(mnt):
                r = subprocess.run(["umount", mnt], capture_output=True)
                if r.returncode != 0:
                    subprocess.run(["umount", "-l", mnt], capture_output=True)
        self.mounts = []
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    pass
        if self.failed:
            repro = os.path.join(tempfile.gettempdir(), f"fspol-{self.name}-repro.sh")
            with open(repro, "w") as f:
                f.write("#!/bin/sh\n# commands of the failed run, in order\n")
                f.write("\n".join(self.commands) + "\n")
            print(f"{self.name}: repro script: {repro}", file=sys.stderr)
        shutil.rmtree(self.work, ignore_errors=True)
        self.work = None


class Checker:
    """Collects failures; exits 1 at the end if any."""

    def __init__(self, env):
        self.env = env
        self.failures = []
        self.checks = 0

    def check(self, cond, what):
        self.checks += 1
        if not cond:
            self.failures.append(what)
            print(f"FAIL: {what}")

    def equal(self, got, want, what):
        self.check(got == want, f"{what}: got {got!r}, want {want!r}")

    def finish(self):
        if self.failures:
            self.env.failed = True
            print(f"{len(self.failures)} of {self.checks} checks failed")
            self.env.cleanup()
            sys.exit(1)
        print(f"ok: {self.checks} checks")
        self.env.cleanup()
        sys.exit(0)
