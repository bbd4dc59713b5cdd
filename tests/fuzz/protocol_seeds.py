#!/usr/bin/env python3
"""Writes the protocol fuzzer's seed corpus: sessions of well-formed FUSE
requests over the fuzzer's lower tree and policy (protocol_fuzzer.cc),
one file each, plus a few malformed ones. Usage: protocol_seeds.py DIR

A node id in a request is an index into the nodes the daemon handed out,
in the order it handed them out (0 is the root), and a file handle an
index into the open handles of its kind: the fuzzer maps them
(protocol_fuzzer.cc, "the kernel's side of the contract")."""
import os
import struct
import sys

# linux/fuse.h opcodes
LOOKUP, FORGET, GETATTR, SETATTR, READLINK, SYMLINK = 1, 2, 3, 4, 5, 6
MKNOD, MKDIR, UNLINK, RMDIR, RENAME, LINK, OPEN, READ, WRITE = 8, 9, 10, 11, 12, 13, 14, 15, 16
STATFS, RELEASE, FSYNC, SETXATTR, GETXATTR, LISTXATTR, REMOVEXATTR = 17, 18, 20, 21, 22, 23, 24
FLUSH, OPENDIR, READDIR, RELEASEDIR, FSYNCDIR, GETLK, SETLK, SETLKW = 25, 27, 28, 29, 30, 31, 32, 33
ACCESS, CREATE, INTERRUPT, DESTROY, BATCH_FORGET, FALLOCATE = 34, 35, 36, 38, 42, 43
READDIRPLUS, RENAME2, LSEEK, COPY_FILE_RANGE, SYNCFS = 44, 45, 46, 47, 50

PRE, POST = 0x10000, 0x20000  # fuse-bpf: FUSE_PREFILTER, FUSE_POSTFILTER (FSPOL_FUZZ_FILTERS)
KERNEL_NODE = 7 << 32  # a node id the fuzzer turns into one the kernel made

FATTR_MODE, FATTR_UID, FATTR_SIZE, FATTR_ATIME, FATTR_MTIME, FATTR_FH = 1, 2, 8, 16, 32, 64
FUSE_LK_FLOCK = 1
O_RDONLY, O_WRONLY, O_RDWR, O_TRUNC = 0, 1, 2, 0o1000

ROOT = (0, 0, 0)  # uid, gid, pid selector (0: the fuzzer itself)
USER = (1000, 100, 1)  # 1: the fuzzer's process of uid 1000, groups 100
OUTSIDER = (2000, 2000, 2)  # 2: pid 0, a caller outside the pid namespace


def cstr(s):
    return s.encode() + b"\0"


class Session:
    def __init__(self):
        self.frames = []
        self.nodes = {"": 0}  # view path -> node index
        self.files = 0  # open file handles (indexes)
        self.dirs = 0

    def raw(self, data):
        self.frames.append(struct.pack("<H", len(data)) + data)

    def req(self, opcode, node, arg=b"", who=ROOT):
        uid, gid, pid = who
        header = struct.pack("<IIQQIIIHH", 40 + len(arg), opcode, 0, node, uid, gid, pid, 0, 0)
        self.raw(header + arg)

    def lookup(self, path, who=ROOT, found=True):
        """Looks up every component of `path`; returns the last node."""
        parent = ""
        for name in path.split("/"):
            here = f"{parent}/{name}" if parent else name
            self.req(LOOKUP, self.nodes[parent], cstr(name), who)
            if here not in self.nodes:
                if not found and here == path:
                    return None
                self.nodes[here] = len(self.nodes)
            parent = here
        return self.nodes[path]

    def open(self, node, flags=O_RDONLY, who=ROOT):
        self.req(OPEN, node, struct.pack("<II", flags, 0), who)
        self.files += 1
        return self.files - 1

    def opendir(self, node, who=ROOT):
        self.req(OPENDIR, node, struct.pack("<II", 0, 0), who)
        self.dirs += 1
        return self.dirs - 1

    def create(self, parent, name, flags=O_RDWR, mode=0o100644, who=ROOT):
        path = f"{parent}/{name}" if parent else name
        self.req(CREATE, self.nodes[parent], struct.pack("<IIII", flags, mode, 0o022, 0) + cstr(name), who)
        self.nodes[path] = len(self.nodes)
        self.files += 1
        return self.nodes[path], self.files - 1

    def read(self, node, fh, size=4096, offset=0, who=ROOT, opcode=READ):
        self.req(opcode, node, struct.pack("<QQIIQII", fh, offset, size, 0, 0, 0, 0), who)

    def write(self, node, fh, data, offset=0, who=ROOT):
        self.req(WRITE, node, struct.pack("<QQIIQII", fh, offset, len(data), 0, 0, 0, 0) + data, who)

    def release(self, node, fh, opcode=RELEASE):
        self.req(opcode, node, struct.pack("<QIIQ", fh, 0, 0, 0))

    def setattr(self, node, valid, fh=0, size=0, mode=0, uid=0, mtime=0, who=ROOT):
        arg = struct.pack("<IIQQQQQQIIIIIIII", valid, 0, fh, size, 0, 0, mtime, 0, 0, 0, 0,
                          mode, 0, uid, 0, 0)
        self.req(SETATTR, node, arg, who)

    def bytes(self):
        return b"".join(self.frames)


def error_in(err=0):
    """The extension that ends a postfilter request."""
    return struct.pack("<IIiI", 16, 33, err, 0)  # FUSE_ERROR_IN


def attr(mode=0o100644, ino=2, uid=0):
    return struct.pack("<QQQQQQIIIIIIIIII", ino, 4, 8, 1, 1, 1, 0, 0, 0, mode, 1, uid, 0, 0, 4096, 0)


def entry_out(mode=0o100644, ino=2):
    return struct.pack("<QQQQII", ino, 0, 1, 1, 0, 0) + attr(mode, ino)


def bpf_entry(kind=0, name=b"fz_1"):
    """A fuse_bpf_entry_out record (0: FUSE_ENTRY_BPF, a set by name)."""
    return struct.pack("<II", kind, 0) + name.ljust(256, b"\0")


def dirent(ino, name, type_=8):
    rec = struct.pack("<QQII", ino, 1, len(name), type_) + name
    return rec + b"\0" * (-len(rec) % 8)


def seeds():
    out = {}

    s = Session()  # reading through a visible chain
    plan = s.lookup("shared/team/plan.txt")
    s.req(GETATTR, plan, struct.pack("<IIQ", 0, 0, 0))
    fh = s.open(plan)
    s.read(plan, fh)
    s.req(GETATTR, plan, struct.pack("<IIQ", 1, 0, fh))  # FUSE_GETATTR_FH
    s.req(FLUSH, plan, struct.pack("<QIIQ", fh, 0, 0, 0))
    s.release(plan, fh)
    d = s.opendir(s.nodes["shared"])
    s.read(s.nodes["shared"], d, opcode=READDIRPLUS)
    s.read(s.nodes["shared"], d, opcode=READDIR)
    s.release(s.nodes["shared"], d, RELEASEDIR)
    s.req(FORGET, plan, struct.pack("<Q", 1))
    out["read"] = s

    s = Session()  # writing a new file, as a group member and as an outsider
    team = s.lookup("shared/team")
    node, fh = s.create("shared/team", "new.txt", who=USER)
    s.write(node, fh, b"hello world", who=USER)
    s.read(node, fh, who=USER)
    s.setattr(node, FATTR_SIZE | FATTR_FH, fh=fh, size=5, who=USER)
    s.req(FSYNC, node, struct.pack("<QII", fh, 0, 0), who=USER)
    s.req(FALLOCATE, node, struct.pack("<QQQII", fh, 0, 8192, 0, 0), who=USER)
    s.req(LSEEK, node, struct.pack("<QQII", fh, 0, 3, 0), who=USER)  # SEEK_DATA
    s.release(node, fh)
    s.create("shared", "denied.txt", who=OUTSIDER)
    s.req(UNLINK, team, cstr("new.txt"), who=USER)
    out["write"] = s

    s = Session()  # directories: make, rename, exchange, remove; the kept ones
    root_dirs = s.lookup("shared")
    s.req(MKDIR, root_dirs, struct.pack("<II", 0o40755, 0o022) + cstr("d1"))
    s.nodes["shared/d1"] = len(s.nodes)
    s.req(MKDIR, root_dirs, struct.pack("<II", 0o40755, 0o022) + cstr("d2"))
    s.nodes["shared/d2"] = len(s.nodes)
    s.req(RENAME, root_dirs, struct.pack("<Q", root_dirs) + cstr("d1") + cstr("d3"))
    s.req(RENAME2, root_dirs, struct.pack("<QII", root_dirs, 2, 0) + cstr("d2") + cstr("d3"))
    s.req(RMDIR, root_dirs, cstr("d3"))
    keep = s.lookup("keep")
    s.req(RMDIR, keep, cstr("sub"))
    s.req(RENAME, keep, struct.pack("<Q", 0) + cstr("sub") + cstr("moved"))
    s.req(MKNOD, root_dirs, struct.pack("<IIII", 0o10644, 0, 0o022, 0) + cstr("fifo"))
    out["dirs"] = s

    s = Session()  # attributes and extended attributes
    photo = s.lookup("media/photos/a.jpg")
    s.setattr(photo, FATTR_MODE, mode=0o100600)
    s.setattr(photo, FATTR_UID, uid=1000)
    s.setattr(photo, FATTR_ATIME | FATTR_MTIME, mtime=1)
    s.req(SETXATTR, photo, struct.pack("<IIII", 3, 0, 0, 0) + cstr("user.x") + b"abc")
    s.req(GETXATTR, photo, struct.pack("<II", 64, 0) + cstr("user.x"))
    s.req(GETXATTR, photo, struct.pack("<II", 0, 0) + cstr("user.tag"))
    s.req(LISTXATTR, photo, struct.pack("<II", 256, 0))
    s.req(REMOVEXATTR, photo, cstr("user.x"))
    s.req(ACCESS, photo, struct.pack("<II", 4, 0), who=USER)
    s.req(STATFS, photo)
    out["attrs"] = s

    s = Session()  # links
    link = s.lookup("link")
    s.req(READLINK, link)
    s.req(SYMLINK, 0, cstr("sym") + cstr("docs/readme.md"))
    s.nodes["sym"] = len(s.nodes)
    kept = s.lookup("kept/k.txt")
    s.req(LINK, 0, struct.pack("<Q", kept) + cstr("hard"))
    s.req(UNLINK, 0, cstr("sym"))
    out["links"] = s

    s = Session()  # what the policy hides and refuses
    s.lookup("private", found=False)
    s.lookup("notes.secret", found=False)
    ro = s.lookup("ro/fixed.txt")
    s.open(ro, O_WRONLY | O_TRUNC)
    s.req(MKDIR, 0, struct.pack("<II", 0o40755, 0) + cstr("private"))
    s.req(RENAME, s.nodes["ro"], struct.pack("<Q", 0) + cstr("fixed.txt") + cstr("x.secret"))
    out["refusals"] = s

    s = Session()  # renamed names, redirects, case folding
    s.lookup("docs/readme.markdown")
    s.lookup("docs/guide.md")
    d = s.opendir(s.nodes["docs"])
    s.read(s.nodes["docs"], d, opcode=READDIRPLUS)
    s.release(s.nodes["docs"], d, RELEASEDIR)
    s.lookup("old/old.txt")
    s.lookup("old/keep/k.txt")
    s.lookup("ci/readme.txt")
    s.create("ci", "NEW.txt")
    out["names"] = s

    s = Session()  # a handler's contents, for a user and for root
    log = s.lookup("logs/app.log", who=USER)
    fh = s.open(log, who=USER)
    s.read(log, fh, who=USER)
    s.read(log, fh, offset=4, size=3, who=USER)
    s.release(log, fh)
    fh = s.open(log)
    s.read(log, fh)
    s.release(log, fh)
    out["handler"] = s

    s = Session()  # copies, locks, syncs, interrupts, forgets
    plan = s.lookup("shared/team/plan.txt")
    empty = s.lookup("empty")
    src = s.open(plan)
    dst = s.open(empty, O_RDWR)
    s.req(COPY_FILE_RANGE, plan, struct.pack("<QQQQQQQ", src, 0, empty, dst, 0, 4, 0))
    s.req(SETLK, plan, struct.pack("<QQQQIIII", src, 7, 0, 0, 1, 0, FUSE_LK_FLOCK, 0))
    s.req(SETLKW, empty, struct.pack("<QQQQIIII", dst, 8, 0, 0, 1, 0, FUSE_LK_FLOCK, 0))
    s.req(GETLK, plan, struct.pack("<QQQQIIII", src, 7, 0, 0, 1, 0, 0, 0))
    s.req(INTERRUPT, 0, struct.pack("<Q", 5))
    s.req(SYNCFS, 0, struct.pack("<Q", 0))
    d = s.opendir(s.nodes["shared"])
    s.req(FSYNCDIR, s.nodes["shared"], struct.pack("<QII", d, 0, 0))
    s.release(plan, src)
    s.release(empty, dst)
    s.req(BATCH_FORGET, 0, struct.pack("<II", 2, 0) + struct.pack("<QQ", plan, 1) + struct.pack("<QQ", empty, 1))
    out["misc"] = s

    s = Session()  # fuse-bpf: the kernel's filter requests (daemon mode answers ENOSYS)
    s.req(LOOKUP | PRE, 0, cstr("private"))
    s.req(LOOKUP | PRE, 0, cstr("docs"))
    s.req(LOOKUP | POST, 0, cstr("shared") + entry_out(0o40755) + error_in())
    s.nodes["shared"] = len(s.nodes)
    s.req(LOOKUP | POST, s.nodes["shared"], cstr("team") + entry_out(0o40755) + bpf_entry() + error_in())
    s.req(LOOKUP | POST, 0, cstr("nothing") + entry_out() + error_in(-2))
    s.req(LOOKUP | POST, 0, cstr("docs") + entry_out(0o40755) + error_in())
    s.nodes["docs"] = len(s.nodes)
    s.req(READDIR | POST, s.nodes["docs"], struct.pack("<QQIIQII", 0, 0, 4096, 0, 0, 0, 0) +
          struct.pack("<QII", 0, 0, 0) + dirent(3, b"readme.md") + dirent(4, b"guide.markdown") +
          dirent(5, b".") + error_in())
    s.req(READDIR | POST, 0, struct.pack("<QQIIQII", 0, 0, 4096, 0, 0, 0, 0) +
          struct.pack("<QII", 0, 0, 0) + dirent(6, b"notes.secret") + dirent(7, b"shared", 4) +
          b"\x01\x02" + error_in())
    s.req(GETATTR | POST, s.nodes["shared"], struct.pack("<IIQ", 0, 0, 0) +
          struct.pack("<QII", 1, 0, 0) + attr(0o40755) + error_in())
    s.req(OPEN | PRE, s.nodes["docs"], struct.pack("<II", O_RDWR, 0), who=USER)
    s.req(MKDIR | PRE, s.nodes["shared"], struct.pack("<II", 0o40755, 0o022) + cstr("made"), who=USER)
    s.req(CREATE | PRE, 0, struct.pack("<IIII", O_RDWR, 0o100644, 0o022, 0) + cstr("x.secret"))
    s.req(UNLINK | PRE, s.nodes["shared"], cstr("team"), who=OUTSIDER)
    s.req(RENAME | PRE, 0, struct.pack("<Q", s.nodes["docs"]) + cstr("shared") + cstr("s2"))
    s.req(LINK | PRE, s.nodes["shared"], struct.pack("<Q", KERNEL_NODE | 3) + cstr("l"))
    s.req(LINK, s.nodes["shared"], struct.pack("<Q", KERNEL_NODE | 3) + cstr("l"))
    s.req(GETATTR | PRE, KERNEL_NODE | 1, struct.pack("<IIQ", 0, 0, 0))
    s.req(SETATTR | PRE, s.nodes["shared"], struct.pack("<IIQQQQQQIIIIIIII", FATTR_UID, 0, 0, 0, 0, 0,
                                                        0, 0, 0, 0, 0, 0, 0, 1000, 0, 0))
    s.req(SETXATTR | PRE, s.nodes["docs"], struct.pack("<IIII", 3, 0, 0, 0) + cstr("user.x") + b"abc")
    s.req(GETXATTR | POST, s.nodes["docs"], struct.pack("<II", 64, 0) + cstr("user.tag") +
          struct.pack("<II", 1, 0) + error_in())
    s.req(READ | PRE, s.nodes["shared"], struct.pack("<QQIIQII", 0, 0, 4096, 0, 0, 0, 0))
    s.req(WRITE | POST, s.nodes["shared"], struct.pack("<QQIIQII", 0, 0, 3, 0, 0, 0, 0) +
          struct.pack("<II", 3, 0) + error_in())
    s.req(RELEASE | PRE, s.nodes["shared"], struct.pack("<QIIQ", 0, 0, 0, 0))
    s.req(LOOKUP | PRE | POST, 0, cstr("shared"))
    s.req(FORGET | PRE, 0, struct.pack("<Q", 1))
    out["filters"] = s

    s = Session()  # malformed: short, inconsistent, unknown, unterminated
    s.raw(b"\x01\x02\x03")
    s.raw(struct.pack("<IIQQIIIHH", 999, LOOKUP, 0, 0, 0, 0, 0, 0, 0) + b"shared\0")
    s.req(LOOKUP, 0, b"shared")  # no NUL
    s.req(LOOKUP, 0, b"")
    s.req(4242, 0, b"x" * 16)
    s.req(GETATTR, 0, b"\x01")
    s.req(WRITE, 0, struct.pack("<QQIIQII", 0, 0, 1 << 30, 0, 0, 0, 0) + b"x")
    s.req(READ, 0, struct.pack("<QQIIQII", 0, 0, 0xFFFFFFFF, 0, 0, 0, 0))
    s.req(BATCH_FORGET, 0, struct.pack("<II", 1000, 0))
    s.req(RENAME, 0, struct.pack("<Q", 0) + b"shared")
    s.req(SYMLINK, 0, b"only-one-name\0")
    s.req(SETXATTR, 0, struct.pack("<IIII", 1 << 20, 0, 0, 0) + cstr("user.y"))
    s.req(DESTROY, 0)
    out["malformed"] = s
    return out


def main():
    target = sys.argv[1]
    os.makedirs(target, exist_ok=True)
    for name, session in seeds().items():
        with open(os.path.join(target, name), "wb") as f:
            f.write(session.bytes())


if __name__ == "__main__":
    main()
