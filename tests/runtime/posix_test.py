#!/usr/bin/env python3
"""POSIX behaviour: the same operation sequence on an fsrun view and directly
on a lower-side copy must give the same results (values and errno) and leave
the same tree (content, metadata, xattrs).

usage: posix_test.py [MOUNT_OPTIONS]   (e.g. passthrough=false,writeback)
"""
import ctypes
import errno
import fcntl
import hashlib
import os
import re
import shutil
import stat
import subprocess
import sys
import time

from fsrun_env import Checker, Env

libc = ctypes.CDLL(None, use_errno=True)
RENAME_NOREPLACE = 1
RENAME_EXCHANGE = 2
GIB = 1 << 30
WRITEBACK = False


def renameat2(old, new, flags):
    if libc.renameat2(-100, old.encode(), -100, new.encode(), flags) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


def scenario(root):
    """Runs the operation sequence under `root`; returns what it observed."""
    obs = []

    def rec(name, fn):
        try:
            obs.append((name, "ok", fn()))
        except OSError as e:
            obs.append((name, "err", errno.errorcode.get(e.errno, e.errno)))

    def p(*parts):
        return os.path.join(root, *parts)

    def read(path):
        with open(path, "rb") as f:
            return f.read()

    def write(path, data, flags=os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode=0o644):
        fd = os.open(path, flags, mode)
        try:
            return os.write(fd, data)
        finally:
            os.close(fd)

    def meta(path, follow=False):
        st = os.stat(path) if follow else os.lstat(path)
        return (stat.filemode(st.st_mode), st.st_nlink, st.st_size if not stat.S_ISDIR(st.st_mode) else 0,
                st.st_uid, st.st_gid)

    def ctime_advances(path, op):
        before = os.lstat(path).st_ctime_ns
        time.sleep(0.02)
        op()
        return os.lstat(path).st_ctime_ns > before

    # Directories.
    rec("mkdir d", lambda: os.mkdir(p("d"), 0o755))
    rec("mkdir d again", lambda: os.mkdir(p("d")))
    rec("mkdir in missing", lambda: os.mkdir(p("nope", "x")))
    rec("rmdir missing", lambda: os.rmdir(p("nope")))
    rec("meta d", lambda: meta(p("d")))
    # Files: create, exclusive create, O_APPEND, O_TRUNC.
    rec("create f", lambda: write(p("d", "f"), b"hello world\n", os.O_WRONLY | os.O_CREAT | os.O_EXCL))
    rec("create f excl", lambda: write(p("d", "f"), b"x", os.O_WRONLY | os.O_CREAT | os.O_EXCL))
    rec("append 1", lambda: write(p("d", "f"), b"more\n", os.O_WRONLY | os.O_APPEND))
    rec("append 2", lambda: write(p("d", "f"), b"again\n", os.O_WRONLY | os.O_APPEND))
    rec("read f", lambda: read(p("d", "f")))
    rec("trunc open", lambda: write(p("d", "t"), b"0123456789"))
    rec("trunc open 2", lambda: write(p("d", "t"), b"ab", os.O_WRONLY | os.O_TRUNC))
    rec("read t", lambda: read(p("d", "t")))
    rec("open missing", lambda: os.open(p("d", "missing"), os.O_RDONLY))
    rec("open dir for write", lambda: os.open(p("d"), os.O_WRONLY))
    rec("rdwr read-write", lambda: _rdwr(p("d", "t")))
    # Metadata: chmod, chown, ctime updates.
    rec("chmod ctime", lambda: ctime_advances(p("d", "f"), lambda: os.chmod(p("d", "f"), 0o600)))
    rec("meta f", lambda: meta(p("d", "f")))
    rec("chown", lambda: os.chown(p("d", "t"), 1234, 5678))
    rec("meta t", lambda: meta(p("d", "t")))
    rec("utime ns", lambda: os.utime(p("d", "t"), ns=(1234567890123456789, 1600000000987654321)))
    rec("times ns", lambda: (os.stat(p("d", "t")).st_atime_ns, os.stat(p("d", "t")).st_mtime_ns))
    rec("utime now", lambda: os.utime(p("d", "t")))
    rec("mtime recent", lambda: abs(os.stat(p("d", "t")).st_mtime - time.time()) < 5)
    # Hard links and renames.
    rec("link ctime", lambda: ctime_advances(p("d", "f"), lambda: os.link(p("d", "f"), p("d", "g"))))
    rec("nlink 2", lambda: (os.stat(p("d", "f")).st_nlink, os.stat(p("d", "g")).st_nlink))
    rec("same ino", lambda: os.stat(p("d", "f")).st_ino == os.stat(p("d", "g")).st_ino)
    rec("link exists", lambda: os.link(p("d", "f"), p("d", "t")))
    rec("rename ctime", lambda: _rename_ctime(p))
    rec("g gone", lambda: os.path.exists(p("d", "g")))
    rec("read h", lambda: read(p("d", "h")))
    rec("noreplace", lambda: renameat2(p("d", "h"), p("d", "t"), RENAME_NOREPLACE))
    rec("noreplace new", lambda: renameat2(p("d", "h"), p("d", "h2"), RENAME_NOREPLACE))
    rec("exchange", lambda: renameat2(p("d", "h2"), p("d", "t"), RENAME_EXCHANGE))
    rec("after exchange", lambda: (read(p("d", "h2")), read(p("d", "t"))))
    rec("exchange missing", lambda: renameat2(p("d", "h2"), p("d", "zz"), RENAME_EXCHANGE))
    rec("rename over", lambda: os.rename(p("d", "h2"), p("d", "t")))
    rec("nlink after", lambda: (os.stat(p("d", "f")).st_nlink, read(p("d", "t"))))
    rec("unlink t", lambda: os.unlink(p("d", "t")))
    rec("nlink 1", lambda: os.stat(p("d", "f")).st_nlink)
    rec("mkdir e", lambda: os.mkdir(p("d", "e")))
    rec("rename dir", lambda: os.rename(p("d", "e"), p("e2")))
    rec("dir nlink", lambda: (os.stat(p("d")).st_nlink, os.stat(p("e2")).st_nlink))
    rec("rename into self", lambda: os.rename(p("d"), p("d", "sub")))
    # Errors of the name space.
    rec("rmdir nonempty", lambda: os.rmdir(p("d")))
    rec("rmdir file", lambda: os.rmdir(p("d", "f")))
    rec("unlink dir", lambda: os.unlink(p("d")))
    rec("long name", lambda: os.open(p("x" * 300), os.O_RDONLY))
    # Symlinks, fifos.
    rec("symlink", lambda: os.symlink("f", p("d", "s")))
    rec("readlink", lambda: os.readlink(p("d", "s")))
    rec("lstat s", lambda: meta(p("d", "s")))
    rec("stat via s", lambda: meta(p("d", "s"), follow=True))
    rec("read via s", lambda: read(p("d", "s")))
    rec("dangling", lambda: os.symlink("nowhere", p("d", "dl")))
    rec("read dangling", lambda: read(p("d", "dl")))
    rec("mkfifo", lambda: os.mkfifo(p("d", "fifo"), 0o640))
    rec("fifo meta", lambda: meta(p("d", "fifo")))
    rec("mknod chr", lambda: os.mknod(p("d", "null"), 0o666 | stat.S_IFCHR, os.makedev(1, 3)))
    rec("chr rdev", lambda: os.major(os.stat(p("d", "null")).st_rdev))
    # xattrs.
    rec("setxattr", lambda: os.setxattr(p("d", "f"), "user.color", b"blue"))
    rec("setxattr 2", lambda: os.setxattr(p("d", "f"), "user.shape", b"round"))
    rec("getxattr", lambda: os.getxattr(p("d", "f"), "user.color"))
    rec("listxattr", lambda: sorted(os.listxattr(p("d", "f"))))
    rec("xattr create excl", lambda: os.setxattr(p("d", "f"), "user.color", b"red", os.XATTR_CREATE))
    rec("xattr replace missing", lambda: os.setxattr(p("d", "f"), "user.none", b"x", os.XATTR_REPLACE))
    rec("removexattr", lambda: os.removexattr(p("d", "f"), "user.shape"))
    rec("getxattr missing", lambda: os.getxattr(p("d", "f"), "user.shape"))
    rec("dir xattr", lambda: (os.setxattr(p("d"), "user.k", b"v"), os.getxattr(p("d"), "user.k")))
    rec("symlink xattr", lambda: os.setxattr(p("d", "s"), "user.k", b"v", follow_symlinks=False))
    # Truncate, sparse and large files.
    rec("truncate", lambda: (os.truncate(p("d", "f"), 3), read(p("d", "f"))))
    rec("extend", lambda: (os.truncate(p("d", "f"), 10), read(p("d", "f"))))
    rec("sparse", lambda: _sparse(p("d", "sparse")))
    rec("large", lambda: _large(p("d", "large")))
    rec("fallocate", lambda: _fallocate(p("d", "fa")))
    rec("copy_file_range", lambda: _copy_range(p("d", "sparse"), p("d", "copy")))
    rec("ftruncate unlinked", lambda: _unlinked(p("d", "u")))
    # Programs: execve reopens the file with the kernel's internal exec flag.
    rec("exec", lambda: _exec(p("d", "prog")))
    rec("exec while open for write", lambda: _exec_busy(p("d", "prog")))
    # Locks.
    rec("flock", lambda: _flock(p("d", "f")))
    rec("posix lock", lambda: _posix_lock(p("d", "f")))
    rec("flock waiters", lambda: _flock_waiters(p("d", "f")))
    # Another user, through default_permissions.
    rec("private file", lambda: (write(p("d", "priv"), b"secret", mode=0o600), os.chmod(p("d", "priv"), 0o600)))
    rec("as user read", lambda: _as_user(["cat", p("d", "priv")]))
    rec("as user create", lambda: (os.chmod(p("d"), 0o777), _as_user(["touch", p("d", "mine")]),
                                   meta(p("d", "mine")))[1:])
    rec("as user chmod other", lambda: _as_user(["chmod", "777", p("d", "f")]))
    # Set-ID bits: an unprivileged write, truncate, O_TRUNC open or
    # fallocate clears them; root's keep them.
    for how, cmd in (("append", "printf x >> {}"), ("truncate", "truncate -s 1 {}"),
                     ("o_trunc", "printf y > {}"), ("fallocate", "fallocate -l 8192 {}")):
        rec(f"suid {how} by user", lambda cmd=cmd, how=how: _sxid_after(
            p("d", f"sx-{how}"), ["sh", "-c", cmd.format(p("d", f"sx-{how}"))], as_user=True))
    rec("suid write by root", lambda: _sxid_after(p("d", "sx-root"), ["sh", "-c", f"printf z >> {p('d', 'sx-root')}"]))
    rec("sgid no group exec", lambda: _sxid_after(p("d", "sx-g"), ["sh", "-c", f"printf z >> {p('d', 'sx-g')}"],
                                                 as_user=True, mode=0o2666))
    rec("sgid no group exec, in group", lambda: _sxid_after(
        p("d", "sx-gin"), ["sh", "-c", f"printf z >> {p('d', 'sx-gin')}"], as_user=True, mode=0o2666, gid=1000))
    rec("readdir", lambda: sorted(os.listdir(p("d"))))
    rec("big directory", lambda: _big_dir(p("big")))
    rec("statvfs", lambda: (os.statvfs(root).f_bsize, os.statvfs(root).f_namemax))
    rec("tree", lambda: tree(root))
    return obs


def _rename_ctime(p):
    before = os.lstat(p("d", "g")).st_ctime_ns
    time.sleep(0.02)
    os.rename(p("d", "g"), p("d", "h"))
    return os.lstat(p("d", "h")).st_ctime_ns > before


def _rdwr(path):
    fd = os.open(path, os.O_RDWR)
    try:
        os.pwrite(fd, b"XY", 1)
        return os.pread(fd, 100, 0)
    finally:
        os.close(fd)


def _sparse(path):
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        os.pwrite(fd, b"data", 1 << 20)
        # With writeback caching the data reaches the daemon at writeback;
        # SEEK_DATA/SEEK_HOLE are answered from the lower file.
        os.fsync(fd)
        st = os.fstat(fd)
        # Writeback caching keeps the kernel's attributes authoritative, so
        # st_blocks stays as cached (docs/runtime.md): compare "allocated".
        blocks = st.st_blocks if not WRITEBACK else "n/a"
        data = os.lseek(fd, 0, os.SEEK_DATA)
        hole = os.lseek(fd, 0, os.SEEK_HOLE)
        return (st.st_size, blocks, data, hole, os.pread(fd, 8, (1 << 20) - 4))
    finally:
        os.close(fd)


def _large(path):
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        off = 5 * GIB + 12345
        os.pwrite(fd, b"far away", off)
        os.close(fd)
        fd = os.open(path, os.O_RDONLY)
        return (os.fstat(fd).st_size, os.pread(fd, 8, off), os.pread(fd, 4, 4 * GIB))
    finally:
        os.close(fd)


def _fallocate(path):
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        os.posix_fallocate(fd, 0, 65536)
        return (os.fstat(fd).st_size, os.fstat(fd).st_blocks)
    finally:
        os.close(fd)


def _copy_range(src, dst):
    a = os.open(src, os.O_RDONLY)
    b = os.open(dst, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        n = os.copy_file_range(a, b, 1 << 21, 0, 0)
        return (n, os.fstat(b).st_size)
    finally:
        os.close(a)
        os.close(b)


def _unlinked(path):
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        os.write(fd, b"abcdef")
        os.unlink(path)
        os.ftruncate(fd, 2)
        st = os.fstat(fd)
        return (st.st_size, st.st_nlink, os.pread(fd, 10, 0))
    finally:
        os.close(fd)


def _exec(path):
    shutil.copyfile("/bin/true", path)
    os.chmod(path, 0o755)
    return subprocess.run([path]).returncode


def _exec_busy(path):
    fd = os.open(path, os.O_WRONLY)
    try:
        subprocess.run([path])
    finally:
        os.close(fd)


class _Dirent(ctypes.Structure):
    _fields_ = [("d_ino", ctypes.c_uint64), ("d_off", ctypes.c_int64), ("d_reclen", ctypes.c_ushort),
                ("d_type", ctypes.c_ubyte), ("d_name", ctypes.c_char * 256)]


libc.opendir.restype = ctypes.c_void_p
libc.opendir.argtypes = [ctypes.c_char_p]
libc.readdir.restype = ctypes.POINTER(_Dirent)
libc.readdir.argtypes = [ctypes.c_void_p]
libc.telldir.restype = ctypes.c_long
libc.telldir.argtypes = [ctypes.c_void_p]
libc.seekdir.argtypes = [ctypes.c_void_p, ctypes.c_long]
libc.rewinddir.argtypes = [ctypes.c_void_p]
libc.closedir.argtypes = [ctypes.c_void_p]


def _big_dir(path, count=3000):
    """A directory listed in many READDIR rounds (and read ahead): complete
    listings, telldir/seekdir and rewinddir in the middle, changes made
    while a listing is half read, and a listing with stat of each entry."""
    os.mkdir(path)
    names = [f"entry-{i:05d}-" + "n" * 40 for i in range(count)]
    for i, name in enumerate(names):
        with open(os.path.join(path, name), "wb") as f:
            f.write(b"x" * (i % 7))
    full = sorted(os.listdir(path)) == sorted(names)
    d = libc.opendir(path.encode())
    if not d:
        raise OSError(ctypes.get_errno(), "opendir")

    def next_name():
        e = libc.readdir(d)
        return e.contents.d_name.decode() if e else None

    try:
        first = [next_name() for _ in range(1200)]
        mark = libc.telldir(d)
        after_mark = [next_name() for _ in range(20)]
        libc.seekdir(d, mark)
        again = [next_name() for _ in range(20)]
        # Changes while half read: entries neither removed nor added during
        # the listing must show up exactly once, the others may or may not.
        removed = set(names[-300:])
        for name in removed:
            os.unlink(os.path.join(path, name))
        added = {f"late-{i}" for i in range(300)}
        for name in added:
            open(os.path.join(path, name), "wb").close()
        rest = []
        while (name := next_name()) is not None:
            rest.append(name)
        seen = [n for n in first + after_mark + rest if n not in (".", "..")]
        stable = set(names) - removed
        exactly_once = all(seen.count(n) == 1 for n in stable) if len(seen) < 20000 else False
        only_known = set(seen) <= set(names) | added
        libc.rewinddir(d)
        after_rewind = set()
        while (name := next_name()) is not None:
            after_rewind.add(name)
    finally:
        libc.closedir(d)
    with os.scandir(path) as it:
        sizes = sorted((e.name, e.stat(follow_symlinks=False).st_size) for e in it)
    shutil.rmtree(path)
    return (full, after_mark == again, exactly_once, only_known,
            after_rewind == stable | added | {".", ".."}, len(sizes), sizes[:3], sizes[-3:])


def _flock(path):
    a = os.open(path, os.O_RDONLY)
    b = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(a, fcntl.LOCK_EX)
        try:
            fcntl.flock(b, fcntl.LOCK_EX | fcntl.LOCK_NB)
            second = "acquired"
        except OSError as e:
            second = errno.errorcode[e.errno]
        fcntl.flock(a, fcntl.LOCK_UN)
        fcntl.flock(b, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return second
    finally:
        os.close(a)
        os.close(b)


def _flock_waiters(path, waiters=4):
    """More blocked flock(2) callers than the daemon has threads per CPU:
    each must get the lock once the holder lets go, in turn."""
    code = ("import fcntl,os,sys\nfd=os.open(sys.argv[1],os.O_RDONLY)\n"
            "fcntl.flock(fd,fcntl.LOCK_EX)\nprint('got')\nfcntl.flock(fd,fcntl.LOCK_UN)\n")
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        procs = [subprocess.Popen([sys.executable, "-c", code, path], stdout=subprocess.PIPE, text=True)
                 for _ in range(waiters)]
        time.sleep(0.5)
        blocked = sum(p.poll() is None for p in procs)
        # The view is still served while they wait.
        os.stat(os.path.dirname(path))
        fcntl.flock(fd, fcntl.LOCK_UN)
        outs = [p.communicate(timeout=20)[0].strip() for p in procs]
        return blocked, outs
    finally:
        os.close(fd)


def _posix_lock(path):
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX, 5, 0)
        code = ("import fcntl,os,sys\nfd=os.open(sys.argv[1],os.O_RDWR)\n"
                "try:\n fcntl.lockf(fd,fcntl.LOCK_EX|fcntl.LOCK_NB,5,0); print('got')\n"
                "except OSError as e: print(e.errno)\n")
        out = subprocess.run([sys.executable, "-c", code, path], capture_output=True, text=True).stdout
        fcntl.lockf(fd, fcntl.LOCK_UN, 5, 0)
        return out.strip()
    finally:
        os.close(fd)


def _sxid_after(path, cmd, as_user=False, mode=0o6777, gid=0):
    """Exit status, mode and content after `cmd` on a set-ID file."""
    with open(path, "wb") as f:
        f.write(b"data")
    os.chown(path, 0, gid)
    os.chmod(path, mode)
    rc = _as_user(cmd) if as_user else subprocess.run(cmd).returncode
    with open(path, "rb") as f:
        return rc, oct(os.stat(path).st_mode & 0o7777), hashlib.sha256(f.read()).hexdigest()[:16]


def _as_user(cmd):
    r = subprocess.run(["setpriv", "--reuid=1000", "--regid=1000", "--clear-groups"] + cmd,
                       capture_output=True)
    return r.returncode


def tree(root):
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(dirnames + filenames):
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            st = os.lstat(path)
            entry = [rel, stat.filemode(st.st_mode), st.st_nlink, st.st_uid, st.st_gid]
            if stat.S_ISREG(st.st_mode):
                h = hashlib.sha256()
                with open(path, "rb") as f:
                    # Sparse 5 GiB file: hash what is there, hole by hole.
                    off = 0
                    while True:
                        try:
                            off = os.lseek(f.fileno(), off, os.SEEK_DATA)
                        except OSError:
                            break
                        end = os.lseek(f.fileno(), off, os.SEEK_HOLE)
                        f.seek(off)
                        h.update(off.to_bytes(8, "little") + f.read(end - off))
                        off = end
                entry += [st.st_size, h.hexdigest()[:16]]
            elif stat.S_ISLNK(st.st_mode):
                entry.append(os.readlink(path))
            if not stat.S_ISLNK(st.st_mode):
                entry.append(sorted((k, os.getxattr(path, k)) for k in os.listxattr(path)))
            out.append(tuple(entry))
    return out


def main():
    global WRITEBACK
    options = sys.argv[1] if len(sys.argv) > 1 else None
    WRITEBACK = bool(options) and "writeback" in options and "passthrough=false" in options
    env = Env("posix" + ("-" + options.replace(",", "-").replace("=", "") if options else ""))
    check = Checker(env)
    lower, ref, mnt = env.path("lower"), env.path("ref"), os.path.join(env.work, "mnt")
    os.mkdir(lower)
    os.mkdir(ref)
    env.mount(lower, mnt, options)
    env.require_transport(mnt, options)
    got = scenario(mnt)
    want = scenario(ref)
    if os.environ.get("VERBOSE"):
        for step in got:
            print(step)
    check.equal(len(got), len(want), "number of steps")
    big = next(w for w in want if w[0] == "big directory")
    check.check(big[1] == "ok" and all(big[2][:5]), f"big directory checks hold on the reference: {big!r}")
    st = env.status(mnt)
    ahead = re.search(r"directory chunks read ahead: (\d+)", st)
    check.check(ahead is not None and int(ahead.group(1)) > 0, "big directory listings were read ahead")
    for g, w in zip(got, want):
        check.equal(g, w, f"step '{w[0]}'")
    # The view and the lower tree it wrote agree too.
    check.equal(tree(mnt), tree(lower), "view vs lower tree")
    check.equal(tree(lower), tree(ref), "lower vs reference tree")
    env.umount(mnt, env.procs[-1])
    check.finish()


if __name__ == "__main__":
    main()
