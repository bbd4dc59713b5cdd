#!/usr/bin/env python3
"""Lifecycle: signals unmount cleanly; a daemon killed with -9 leaves a mount
that answers ENOTCONN and that `fsrun umount` removes; data fsync'd before
the kill is intact; background mounts, `fsrun status`, mount.fspol; and a
walk of 100,000 files with a daemon limited to 256 open files, after which
its RSS must stay under 64 MB.
"""
import errno
import os
import signal
import subprocess
import sys
import time

from fsrun_env import Checker, Env, is_mounted, policy_path


def status_of(env, mnt):
    return subprocess.run([env.fsrun, "status", mnt], capture_output=True, text=True)


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def main():
    env = Env("lifecycle")
    check = Checker(env)
    lower = env.path("lower")
    os.mkdir(lower)
    mnt = os.path.join(env.work, "mnt")

    # SIGTERM and SIGINT: clean unmount, exit 0.
    for sig in (signal.SIGTERM, signal.SIGINT):
        proc = env.mount(lower, mnt)
        check.check(os.listdir(mnt) == [], "empty view")
        proc.send_signal(sig)
        check.equal(proc.wait(timeout=20), 0, f"exit status after {signal.Signals(sig).name}")
        check.check(not is_mounted(mnt), f"unmounted after {signal.Signals(sig).name}")
        env.mounts.remove(mnt)

    # kill -9 during writes.
    proc = env.mount(lower, mnt)
    with open(os.path.join(mnt, "durable"), "wb") as f:
        f.write(b"D" * 100000)
        f.flush()
        os.fsync(f.fileno())
    writer = subprocess.Popen([sys.executable, "-c",
                               "import os,sys\n"
                               "fd=os.open(sys.argv[1],os.O_WRONLY|os.O_CREAT,0o644)\n"
                               "while True:\n"
                               "  try: os.write(fd,b'x'*65536)\n"
                               "  except OSError: sys.exit(0)\n",
                               os.path.join(mnt, "busy")])
    env.procs.append(writer)
    time.sleep(0.5)
    proc.kill()
    proc.wait(timeout=20)
    try:
        writer.wait(timeout=20)
    except subprocess.TimeoutExpired:
        writer.kill()
    try:
        os.stat(os.path.join(mnt, "durable"))
        got = "ok"
    except OSError as e:
        got = errno.errorcode[e.errno]
    check.equal(got, "ENOTCONN", "view after the daemon died")
    with open(os.path.join(lower, "durable"), "rb") as f:
        check.equal(f.read(), b"D" * 100000, "fsync'd data on the lower tree")
    st = status_of(env, mnt)
    check.check(st.returncode == 1 and "no daemon" in st.stdout, f"status of a dead mount: {st.stdout!r}")
    r = subprocess.run([env.fsrun, "umount", mnt], capture_output=True, text=True)
    check.equal(r.returncode, 0, f"fsrun umount after kill -9 ({r.stderr.strip()})")
    check.check(not is_mounted(mnt), "no mount left after kill -9 and fsrun umount")
    env.mounts.remove(mnt)

    # A bad -o value is a usage error naming the option; nothing is mounted.
    r = subprocess.run([env.fsrun, "mount", policy_path(), lower, mnt, "-o", "uring=sometimes"],
                       capture_output=True, text=True, timeout=30)
    check.equal(r.returncode, 2, "exit status for uring=sometimes")
    check.check("option 'uring' takes auto, on or off" in r.stderr, f"message: {r.stderr.strip()!r}")
    check.check(not is_mounted(mnt), "nothing mounted after a bad option")

    # io_uring refused by the system: uring=on must still mount, over
    # /dev/fuse, and say why (the kernel would hold every request for a ring
    # that never comes).
    sysctl = "/proc/sys/kernel/io_uring_disabled"
    if os.path.exists(sysctl):
        with open(sysctl) as f:
            before = f.read().strip()
        try:
            with open(sysctl, "w") as f:
                f.write("2")
            proc = env.mount(lower, mnt, "uring=on")
            check.check(os.path.exists(os.path.join(mnt, "durable")), "view works without io_uring")
            st = status_of(env, mnt).stdout
            check.check("no io_uring: io_uring_setup" in st, f"status says why not io_uring: {st!r}")
            env.umount(mnt, proc)
        finally:
            with open(sysctl, "w") as f:
                f.write(before)
    else:
        print("note: no kernel.io_uring_disabled sysctl; io_uring refusal not tested")

    # Background mount (like mount(8)): returns once usable; status; umount.
    r = subprocess.run([env.fsrun, "mount", policy_path(), lower, mnt, "-o", "fsname=lifecycle"],
                       capture_output=True, text=True, timeout=30)
    env.mounts.append(mnt)
    check.equal(r.returncode, 0, f"background mount ({r.stderr.strip()})")
    check.check(os.path.exists(os.path.join(mnt, "durable")), "background view works")
    st = status_of(env, mnt)
    check.equal(st.returncode, 0, "status exit")
    for want in ("policy: passthrough", "mode: daemon", "requests:", "lookup"):
        check.check(want in st.stdout, f"status mentions {want!r}")
    pid = int(next(l.split()[1] for l in st.stdout.splitlines() if l.startswith("pid:")))
    all_status = subprocess.run([env.fsrun, "status"], capture_output=True, text=True)
    check.check(os.path.realpath(mnt) in all_status.stdout, "fsrun status lists the mount")
    with open("/proc/mounts") as f:
        check.check(any(l.startswith("lifecycle ") and " fuse.fspol " in l for l in f),
                    "fsname and type in /proc/mounts")
    check.equal(subprocess.run([env.fsrun, "umount", mnt]).returncode, 0, "umount of background mount")
    env.mounts.remove(mnt)
    for _ in range(100):
        if not os.path.exists(f"/proc/{pid}"):
            break
        time.sleep(0.05)
    check.check(not os.path.exists(f"/proc/{pid}"), "background daemon exited after umount")

    # mount.fspol, as mount(8) and fstab call it.
    helper = os.path.join(os.path.dirname(env.fsrun), "mount.fspol")
    r = subprocess.run([helper, lower, mnt, "-o", f"policy={policy_path()},noatime"],
                       capture_output=True, text=True, timeout=30)
    env.mounts.append(mnt)
    check.equal(r.returncode, 0, f"mount.fspol ({r.stderr.strip()})")
    check.check(os.path.exists(os.path.join(mnt, "durable")), "mount.fspol view works")
    check.equal(subprocess.run([env.fsrun, "umount", mnt]).returncode, 0, "umount of mount.fspol view")
    env.mounts.remove(mnt)
    time.sleep(0.2)

    # 100,000 files, a daemon with 256 fds: no fd per inode; RSS bounded.
    big = env.path("big")
    os.mkdir(big)
    for d in range(100):
        sub = os.path.join(big, f"d{d:03}")
        os.mkdir(sub)
        for i in range(1000):
            open(os.path.join(sub, f"f{i:04}"), "w").close()
    cmd_prefix = ["prlimit", "--nofile=256:256"]
    env.commands.append("prlimit --nofile=256:256 fsrun mount ... &")
    os.makedirs(mnt, exist_ok=True)
    log = open(os.path.join(env.logs, "big.log"), "w")
    proc = subprocess.Popen(cmd_prefix + [env.fsrun, "mount", policy_path(), big, mnt, "-f"],
                            stdout=log, stderr=subprocess.STDOUT)
    env.procs.append(proc)
    env.mounts.append(mnt)
    for _ in range(400):
        if is_mounted(mnt):
            break
        time.sleep(0.05)
    count = 0
    for dirpath, dirnames, filenames in os.walk(mnt):
        for name in filenames:
            os.lstat(os.path.join(dirpath, name))
            count += 1
    check.equal(count, 100000, "files seen in the walk")
    # Open and read a few thousand files too: handles are released.
    for i in range(3000):
        with open(os.path.join(mnt, f"d{i % 100:03}", f"f{i:04}" if i < 1000 else f"f{i % 1000:04}"), "rb") as f:
            f.read()
    rss = rss_kb(proc.pid)
    fds = len(os.listdir(f"/proc/{proc.pid}/fd"))
    print(f"daemon after walking 100,000 files: RSS {rss / 1024:.1f} MiB, {fds} open fds")
    # Under ASan (scripts/sanitizers.sh) shadow memory and the quarantine
    # make RSS no measure of the daemon's own.
    if os.environ.get("FSPOL_SANITIZED"):
        print("RSS bound not checked: a sanitizer build")
    else:
        check.check(0 < rss < 64 * 1024, f"RSS {rss} KiB < 64 MiB")
    check.check(fds < 64, f"{fds} open fds")
    check.check(proc.poll() is None, "daemon alive after the walk")
    env.umount(mnt, proc)
    check.finish()


if __name__ == "__main__":
    main()
