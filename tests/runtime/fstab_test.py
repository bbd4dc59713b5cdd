#!/usr/bin/env python3
"""fstab and systemd: the fstab line docs/install.md documents, mounted for
real through mount(8) and mount.fspol, and the example unit
examples/systemd/srv-view.mount.

mount(8) runs helpers from /sbin only, so for its duration the test links
/sbin/mount.fspol to this build's fsrun, if no /sbin/mount.fspol exists
(one that is not this build's fsrun: skip, saying so, and leave it alone);
the link is removed on every exit path (also on failure, SIGTERM from
ctest, Ctrl-C). The system's /etc/fstab is never read or written: every
mount goes through a temporary fstab (`mount -T FILE`).

Each way of mounting must give the policy's view (examples/readonly-
secrets.fspol: documents visible, keys and dotfiles hidden, writes
refused with EROFS), with the kernel options of the line (noatime), and
`umount MNT` must leave nothing mounted and no daemon running:
  1. `mount -T FSTAB MNT`, the documented line with this test's paths;
  2. `mount -a -T FSTAB`;
  3. the example unit's [Mount] settings as systemd hands them to mount(8):
     `mount -t TYPE WHAT WHERE -o OPTIONS`;
  4. a policy with errors: mount fails, nothing mounted, no daemon.
With systemd-analyze, `systemd-analyze verify` must accept the example
unit (its man pages found in docs/man) and one named for this test's mount
point, with no output; without it that part is skipped, saying so.
"""
import errno
import os
import re
import shutil
import subprocess
import time

from fsrun_env import Checker, Env, is_mounted, skip

SOURCE = os.path.realpath(os.path.join(os.path.dirname(__file__), "..", ".."))
HELPER = "/sbin/mount.fspol"
POLICY = os.path.join(SOURCE, "examples", "readonly-secrets.fspol")
UNIT = os.path.join(SOURCE, "examples", "systemd", "srv-view.mount")


class FstabEnv(Env):
    """Env that also removes the /sbin/mount.fspol link it made and kills
    the daemons mount(8) started, whatever way the test ends."""

    def __init__(self, name):
        self.helper_ours = False
        self.fsrun_real = None
        self.daemons = set()
        super().__init__(name)
        self.fsrun_real = os.path.realpath(self.fsrun)

    def cleanup(self):
        try:
            super().cleanup()
            for pid in self.daemons:
                if self.fsrun_real and daemon_exe(pid) == self.fsrun_real:
                    try:
                        os.kill(pid, 9)
                    except ProcessLookupError:
                        pass
            self.daemons = set()
        finally:
            if self.helper_ours and os.path.islink(HELPER) and \
                    os.path.realpath(HELPER) == self.fsrun_real:
                os.unlink(HELPER)
                print(f"removed {HELPER}")
            self.helper_ours = False


def daemon_exe(pid):
    try:
        return os.path.realpath(os.readlink(f"/proc/{pid}/exe"))
    except OSError:
        return None


def fsrun_pids(fsrun_real):
    return {int(p) for p in os.listdir("/proc") if p.isdigit() and daemon_exe(int(p)) == fsrun_real}


def mount_entry(mnt):
    """(fstype, mount options) of mnt in /proc/self/mountinfo, or None."""
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            if fields[4] == mnt:
                sep = fields.index("-")
                return fields[sep + 1], fields[5].split(",")
    return None


def documented_fstab_options():
    """The options field of the fstab line docs/install.md documents."""
    with open(os.path.join(SOURCE, "docs", "install.md")) as f:
        for line in f:
            m = re.match(r"^/srv/data\s+/srv/view\s+fspol\s+(\S+)\s+0\s+0\s*$", line)
            if m:
                return m.group(1)
    return None


def unit_mount_settings(path):
    settings = {}
    section = None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("["):
                section = line
            elif section == "[Mount]" and "=" in line and not line.startswith("#"):
                key, value = line.split("=", 1)
                settings[key] = value
    return settings


def with_policy(options, policy):
    return re.sub(r"(^|,)policy=[^,]*", lambda m: f"{m.group(1)}policy={policy}", options)


def install_helper(env):
    if os.path.lexists(HELPER):
        if os.path.islink(HELPER) and os.path.realpath(HELPER) == env.fsrun_real:
            print(f"{HELPER} -> {env.fsrun_real} left by an earlier run; removed at the end")
            env.helper_ours = True
            return
        target = os.path.realpath(HELPER)
        env.cleanup()
        skip(f"{HELPER} exists and is not this build's fsrun ({target}); not replacing it")
    os.symlink(env.fsrun_real, HELPER)
    env.helper_ours = True
    print(f"linked {HELPER} -> {env.fsrun_real} for this test")


def mounted_view(env, check, what, cmd, mnt):
    """Runs a mount command; checks the view and unmounts it with umount."""
    before = fsrun_pids(env.fsrun_real)
    env.commands.append(" ".join(cmd))
    env.mounts.append(mnt)  # cleanup unmounts it, whenever the test ends
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    daemons = fsrun_pids(env.fsrun_real) - before
    env.daemons |= daemons
    ok = r.returncode == 0 and is_mounted(mnt)
    check.check(ok, f"{what}: `{' '.join(cmd)}` mounts the view: exit {r.returncode} {r.stderr.strip()}")
    if not ok:
        return
    check.equal(len(daemons), 1, f"{what}: one daemon serves the view")
    entry = mount_entry(mnt)
    check.check(entry is not None and entry[0] == "fuse.fspol", f"{what}: mounted as fuse.fspol: {entry}")
    check.check(entry is not None and "noatime" in entry[1], f"{what}: the line's noatime reaches the kernel: {entry}")
    check.equal(sorted(os.listdir(mnt)), ["docs", "notes.txt"], f"{what}: listing (keys and dotfiles hidden)")
    try:
        with open(os.path.join(mnt, "docs", "a.txt")) as f:
            check.equal(f.read(), "visible\n", f"{what}: docs/a.txt through the view")
    except OSError as e:
        check.check(False, f"{what}: docs/a.txt readable: {e}")
    for hidden in (".ssh/id_rsa", "server.key", ".bashrc"):
        try:
            os.stat(os.path.join(mnt, hidden))
            check.check(False, f"{what}: {hidden} is hidden")
        except OSError as e:
            check.equal(e.errno, errno.ENOENT, f"{what}: {hidden} is hidden (ENOENT)")
    try:
        with open(os.path.join(mnt, "docs", "new.txt"), "w") as f:
            f.write("x")
        check.check(False, f"{what}: the view is read-only")
    except OSError as e:
        check.equal(e.errno, errno.EROFS, f"{what}: a write is refused")

    env.commands.append(f"umount {mnt}")
    r = subprocess.run(["umount", mnt], capture_output=True, text=True, timeout=60)
    check.check(r.returncode == 0, f"{what}: umount {mnt}: {r.stderr.strip()}")
    check.check(not is_mounted(mnt), f"{what}: nothing mounted on {mnt} after umount")
    if not is_mounted(mnt):
        env.mounts.remove(mnt)
    deadline = time.time() + 10
    while time.time() < deadline and any(daemon_exe(p) == env.fsrun_real for p in daemons):
        time.sleep(0.05)
    left = fsrun_pids(env.fsrun_real) - before
    check.check(not left, f"{what}: no fsrun process left after umount: {sorted(left)}")


def verify_units(env, check, mnt, lower):
    tool = shutil.which("systemd-analyze")
    if tool is None:
        print("SKIP (part): systemd-analyze missing (Debian package systemd); the units are not verified")
        return
    # The Documentation= pages, found in docs/man through a man tree.
    man = os.path.join(env.work, "man")
    for name in os.listdir(os.path.join(SOURCE, "docs", "man")):
        m = re.match(r".+\.(\d)$", name)
        if m:
            os.makedirs(os.path.join(man, "man" + m.group(1)), exist_ok=True)
            os.symlink(os.path.join(SOURCE, "docs", "man", name), os.path.join(man, "man" + m.group(1), name))
    venv = dict(os.environ, MANPATH=man)
    r = subprocess.run([tool, "verify", UNIT], capture_output=True, text=True, env=venv, timeout=60)
    out = (r.stdout + r.stderr).strip()
    check.check(r.returncode == 0 and not out, f"systemd-analyze verify {UNIT}: exit {r.returncode}: {out}")
    # The same unit for this test's mount point, named as the example says.
    name = subprocess.run(["systemd-escape", "-p", "--suffix=mount", mnt],
                          capture_output=True, text=True).stdout.strip()
    units = os.path.join(env.work, "units")
    os.mkdir(units)
    with open(UNIT) as f:
        text = f.read()
    text = text.replace("/srv/data", lower).replace("/srv/view", mnt)
    text = with_policy_in_unit(text)
    with open(os.path.join(units, name), "w") as f:
        f.write(text)
    r = subprocess.run([tool, "verify", os.path.join(units, name)], capture_output=True, text=True,
                       env=venv, timeout=60)
    out = (r.stdout + r.stderr).strip()
    check.check(r.returncode == 0 and not out, f"systemd-analyze verify {name}: exit {r.returncode}: {out}")
    print(f"systemd-analyze verify: {os.path.basename(UNIT)} and {name} checked")


def with_policy_in_unit(text):
    return re.sub(r"^Options=(.*)$", lambda m: "Options=" + with_policy(m.group(1), POLICY), text, flags=re.M)


def main():
    if shutil.which("mount") is None or shutil.which("umount") is None:
        skip("mount/umount missing (Debian package mount)")
    if "--fstab" not in subprocess.run(["mount", "--help"], capture_output=True, text=True).stdout:
        skip("this mount(8) has no -T/--fstab")
    env = FstabEnv("fstab")
    check = Checker(env)
    install_helper(env)

    lower = env.path("lower")
    mnt = env.path("mnt")
    for d in ("docs", ".ssh"):
        os.makedirs(os.path.join(lower, d))
    os.mkdir(mnt)
    for rel, text in (("docs/a.txt", "visible\n"), ("notes.txt", "notes\n"), (".ssh/id_rsa", "key\n"),
                      ("server.key", "key\n"), (".bashrc", "alias x=y\n")):
        with open(os.path.join(lower, rel), "w") as f:
            f.write(text)

    options = documented_fstab_options()
    ok = options is not None and "policy=" in options
    check.check(ok, "docs/install.md documents an fstab line `/srv/data /srv/view fspol OPTIONS 0 0`")
    if not ok:
        check.finish()
    options = with_policy(options, POLICY)
    fstab = os.path.join(env.work, "fstab")
    with open(fstab, "w") as f:
        f.write(f"# fstab_test: never the system's /etc/fstab\n{lower}  {mnt}  fspol  {options}  0  0\n")
    print(f"fstab line: {lower}  {mnt}  fspol  {options}  0  0")

    mounted_view(env, check, "mount -T FSTAB MNT", ["mount", "-T", fstab, mnt], mnt)
    mounted_view(env, check, "mount -a -T FSTAB", ["mount", "-a", "-T", fstab], mnt)

    unit = unit_mount_settings(UNIT)
    check.equal(unit.get("Type"), "fspol", "the example unit's Type=")
    if unit.get("Type") == "fspol" and "Options" in unit:
        mounted_view(env, check, "the example unit's [Mount]",
                     ["mount", "-t", unit["Type"], lower, mnt, "-o", with_policy(unit["Options"], POLICY)], mnt)

    # A policy with errors: nothing mounted, no daemon.
    bad = os.path.join(env.work, "bad.fspol")
    with open(bad, "w") as f:
        f.write('policy bad {\n  hide "/a"\n}\n')
    bad_fstab = os.path.join(env.work, "fstab.bad")
    with open(bad_fstab, "w") as f:
        f.write(f"{lower}  {mnt}  fspol  {with_policy(options, bad)}  0  0\n")
    before = fsrun_pids(env.fsrun_real)
    env.mounts.append(mnt)
    r = subprocess.run(["mount", "-T", bad_fstab, mnt], capture_output=True, text=True, timeout=60)
    env.daemons |= fsrun_pids(env.fsrun_real) - before
    check.check(r.returncode != 0 and "bad.fspol:2:" in r.stderr and not is_mounted(mnt),
                f"a policy with errors: mount fails, located, nothing mounted: {r.returncode} {r.stderr.strip()}")
    check.check(not fsrun_pids(env.fsrun_real) - before, "a policy with errors leaves no daemon")

    verify_units(env, check, mnt, lower)
    check.finish()


if __name__ == "__main__":
    main()
