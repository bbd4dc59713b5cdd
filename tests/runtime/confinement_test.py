#!/usr/bin/env python3
"""Confinement: nothing done through the view, or to the lower tree while the
view is in use, makes the daemon reach outside the lower root.

A secret lives next to the lower root. Symlinks to it (absolute, relative,
`..` chains, /etc), directories swapped for symlinks after the kernel cached
them, a directory renamed out of the lower root in the middle of a walk, and
O_PATH/handle tricks must all fail to show the secret through the view.

usage: confinement_test.py [MOUNT_OPTIONS]   (e.g. cache=never: no kernel
caching, so every step reaches the daemon)
"""
import errno
import os
import shutil
import sys
import threading
import time

from fsrun_env import Checker, Env

SECRET = b"TOP-SECRET-outside-the-lower-root\n"


def try_read(path):
    """The content at `path`, or the errno name."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))


def main():
    options = sys.argv[1] if len(sys.argv) > 1 else None
    env = Env("confinement")
    check = Checker(env)
    lower = env.path("lower")
    outside = env.path("outside")
    # The view lives elsewhere, so a symlink the *kernel* follows from the
    # view lands somewhere else than the daemon would (if it followed).
    mnt = os.path.join(env.work, "view", "mnt")
    os.makedirs(os.path.join(lower, "a", "b", "c"))
    os.makedirs(outside)
    with open(os.path.join(outside, "secret"), "wb") as f:
        f.write(SECRET)
    with open(os.path.join(lower, "a", "b", "c", "file"), "wb") as f:
        f.write(b"inside\n")
    os.symlink(outside, os.path.join(lower, "abs"))
    os.symlink("../outside", os.path.join(lower, "rel"))
    os.symlink("../../../../outside", os.path.join(lower, "a", "deep"))
    os.symlink("/etc", os.path.join(lower, "etc"))
    env.mount(lower, mnt, options)
    env.require_transport(mnt, options)

    # Symlinks are symlinks: the view shows them, the daemon never follows.
    check.equal(os.readlink(os.path.join(mnt, "rel")), "../outside", "readlink rel")
    check.equal(try_read(os.path.join(mnt, "rel", "secret")), "ENOENT", "relative symlink from the view")
    check.equal(try_read(os.path.join(mnt, "a", "deep", "secret")), "ENOENT", "`..` chain symlink")
    check.equal(os.readlink(os.path.join(mnt, "etc")), "/etc", "readlink /etc symlink")
    # The daemon resolves names one component at a time with no-follow:
    # a lookup *under* a symlink never reaches the daemon as a path.
    check.check(not os.path.isdir(os.path.join(mnt, "a", "deep", "")) or
                try_read(os.path.join(mnt, "a", "deep", "secret")) != SECRET, "deep dir")

    # Swap: the kernel has a/b cached as a directory; on the lower side it
    # becomes a symlink to the outside. The cached node must not lead there.
    check.equal(try_read(os.path.join(mnt, "a", "b", "c", "file")), b"inside\n", "read before swap")
    os.rename(os.path.join(lower, "a", "b"), os.path.join(lower, "a", "b.old"))
    # Relative targets: from the lower side they reach the secret, from the
    # view (elsewhere) they lead nowhere, so only a daemon that followed
    # them could show it. (An absolute symlink is followed by the kernel
    # on the caller's side, as on any file system.)
    os.symlink("../../outside", os.path.join(lower, "a", "b"))
    got = try_read(os.path.join(mnt, "a", "b", "secret"))
    check.check(got != SECRET, f"swapped dir -> relative symlink: got {got!r}")
    got = try_read(os.path.join(mnt, "a", "b", "c", "file"))
    check.check(got != SECRET, f"cached child of swapped dir: {got!r}")
    os.unlink(os.path.join(lower, "a", "b"))
    os.symlink("../b.old/../../outside", os.path.join(lower, "a", "b"))
    got = try_read(os.path.join(mnt, "a", "b", "secret"))
    check.check(got != SECRET, f"swapped dir -> `..` chain symlink: got {got!r}")
    os.unlink(os.path.join(lower, "a", "b"))
    os.rename(os.path.join(lower, "a", "b.old"), os.path.join(lower, "a", "b"))

    # A directory renamed out of the lower root in the middle of a walk:
    # the nodes the kernel holds for it must not follow it outside.
    walk_dir = os.path.join(mnt, "a", "b", "c")
    check.equal(sorted(os.listdir(walk_dir)), ["file"], "walk before move")
    fd = os.open(walk_dir, os.O_RDONLY | os.O_DIRECTORY)
    shutil.move(os.path.join(lower, "a"), os.path.join(outside, "a"))
    with open(os.path.join(outside, "a", "b", "c", "planted"), "wb") as f:
        f.write(SECRET)
    try:
        names = os.listdir(fd)
    except OSError as e:
        names = errno.errorcode[e.errno]
    check.check(names == ["file"] or isinstance(names, str) or "planted" not in names,
                f"readdir of an open dir moved outside: {names!r}")
    got = try_read(os.path.join(walk_dir, "planted"))
    check.check(got != SECRET, f"lookup in a dir moved outside: {got!r}")
    try:
        pfd = os.open("planted", os.O_RDONLY, dir_fd=fd)
        got = os.read(pfd, 100)
        os.close(pfd)
    except OSError as e:
        got = errno.errorcode[e.errno]
    check.check(got != SECRET, f"openat from an open dir moved outside: {got!r}")
    os.close(fd)
    shutil.move(os.path.join(outside, "a"), os.path.join(lower, "a"))
    os.unlink(os.path.join(lower, "a", "b", "c", "planted"))

    # O_PATH tricks: an O_PATH fd of the view's root and of a symlink;
    # `..` from the root of the view stays the kernel's business (the
    # mount's parent), never the daemon's.
    root_fd = os.open(mnt, os.O_PATH)
    try:
        check.equal(os.path.realpath(f"/proc/self/fd/{root_fd}/.."), os.path.dirname(mnt), "root/..")
        lfd = os.open(os.path.join(mnt, "abs"), os.O_PATH | os.O_NOFOLLOW)
        try:
            try:
                os.open("secret", os.O_RDONLY, dir_fd=lfd)
                got = "opened"
            except OSError as e:
                got = errno.errorcode[e.errno]
            check.equal(got, "ENOTDIR", "openat relative to an O_PATH symlink fd")
        finally:
            os.close(lfd)
    finally:
        os.close(root_fd)

    # Race: on the lower side, flip a name between a real directory and a
    # symlink to the outside while readers hammer the view.
    race = os.path.join(lower, "race")
    os.makedirs(race)
    with open(os.path.join(race, "secret"), "wb") as f:
        f.write(b"harmless\n")
    stop = time.time() + 3
    leaked = []

    def flipper():
        i = 0
        while time.time() < stop:
            tmp = os.path.join(lower, f".flip{i % 2}")
            try:
                if os.path.islink(race):
                    os.unlink(race)
                    os.rename(os.path.join(lower, "race.dir"), race)
                else:
                    os.rename(race, os.path.join(lower, "race.dir"))
                    # Relative: followed by the kernel from the view it
                    # leads nowhere; only a daemon following it would leak.
                    os.symlink("../outside", tmp)
                    os.rename(tmp, race)
            except OSError:
                pass
            i += 1

    def reader():
        while time.time() < stop:
            got = try_read(os.path.join(mnt, "race", "secret"))
            if got == SECRET:
                leaked.append(got)

    threads = [threading.Thread(target=flipper)] + [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    check.equal(len(leaked), 0, "reads of the secret during the swap race")

    env.umount(mnt, env.procs[-1])
    check.finish()


if __name__ == "__main__":
    main()
