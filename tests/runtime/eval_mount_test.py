#!/usr/bin/env python3
"""Every policy self-test table (tests/eval/*.eval) executed on a mount.

The tables pin what ir_eval answers for a request (`eval/` tests check
that); here each row is done for real: the example's policy is mounted
(with its declared lower roots, default_permissions off and no caching,
so that only the policy refuses and every answer is fresh) over a tree
scripted from the rows, and the row's caller (uid, gid, process name)
does the row's operation through the view. The result (ok, or the errno)
must be the row's verdict.

The tree: before each row, the lower objects the row needs are made
where `fsc explain` places them (the path with the row's type and its
ancestors as directories; for a create, link or rename, the new name is
absent), world-writable so that the lower file system refuses nothing.
Prints the number of rows run."""
import errno
import json
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from fsrun_env import Checker, Env  # noqa: E402
from run_eval import read_table  # noqa: E402

TABLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "eval")

# Runs as the row's caller: argv[1] is the request (JSON); prints "ok" or
# the errno's name.
WORKER = r'''
import ctypes, errno, fcntl, json, os, sys
r = json.loads(sys.argv[1])
if r["comm"]:
    ctypes.CDLL(None).prctl(15, r["comm"].encode(), 0, 0, 0)  # PR_SET_NAME
p, op, t = r["path"], r["op"], r["type"]
def act():
    if op == "lookup":
        os.close(os.open(p, os.O_PATH | os.O_NOFOLLOW))
    elif op == "stat":
        os.lstat(p)
    elif op == "readdir" or (op == "read" and t == "dir"):
        os.listdir(p)
    elif op == "read" and t == "symlink":
        os.readlink(p)
    elif op == "read":
        fd = os.open(p, os.O_RDONLY)
        os.read(fd, 1)
        os.close(fd)
    elif op == "write":
        os.close(os.open(p, os.O_WRONLY))
    elif op == "exec" and t == "dir":
        os.chdir(p)
    elif op == "exec":
        if not os.access(p, os.X_OK):
            raise OSError(errno.EACCES, "access")
    elif op == "create" and t == "dir":
        os.mkdir(p)
    elif op == "create" and t == "symlink":
        os.symlink("x", p)
    elif op == "create":
        os.close(os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o777))
    elif op == "delete":
        (os.rmdir if t == "dir" else os.unlink)(p)
    elif op == "rename":
        os.rename(p, r["to"])
    elif op == "link":
        os.link(p, r["to"])
    elif op == "chmod":
        os.chmod(p, 0o777)
    elif op == "chown":
        st = os.lstat(p)
        os.chown(p, st.st_uid, st.st_gid)
    elif op == "truncate":
        os.truncate(p, 0)
    elif op == "utimes":
        os.utime(p, None)
    elif op == "xattr_read":
        try:
            os.getxattr(p, "user.fspol", follow_symlinks=False)
        except OSError as e:
            if e.errno != errno.ENODATA:
                raise
    elif op == "xattr_write":
        os.setxattr(p, "user.fspol", b"1", follow_symlinks=False)
    elif op == "lock":
        fd = os.open(p, os.O_RDONLY)
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.close(fd)
    else:
        raise SystemExit("unknown op " + op)
try:
    act()
    print("ok")
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e.errno)))
'''

MAKES = {"create", "rename", "link"}  # ops after which a name exists that did not


class Tree:
    """The lower roots of one table's mount, made to order per row."""

    def __init__(self, fsc, policy, roots):
        self.fsc, self.policy, self.roots = fsc, policy, roots
        self.places = {}

    def place(self, view, type_):
        """Where `view` (an object of type_) is on the lower side: (root
        dir, relative path), as fsc explain places it for root; a path
        hidden from root is where it would be without the policy's maps."""
        key = (view, type_)
        if key not in self.places:
            r = subprocess.run([self.fsc, "explain", self.policy, view, "--op", "lookup",
                                "--type", type_, "--json"], capture_output=True, text=True, check=True)
            v = json.loads(r.stdout)
            root, path = (v["lower_root"], v["lower_path"]) if v["allowed"] else ("main", v["canonical_path"])
            self.places[key] = (self.roots[root], path.lstrip("/"))
        return self.places[key]

    def ancestors(self, view):
        parts = [p for p in view.split("/") if p]
        for i in range(1, len(parts)):
            root, path = self.place("/" + "/".join(parts[:i]), "dir")
            self.make(os.path.join(root, path), "dir")

    def make(self, full, type_):
        if os.path.lexists(full):
            is_dir = os.path.isdir(full) and not os.path.islink(full)
            if (type_ == "dir") == is_dir and (type_ != "symlink" or os.path.islink(full)):
                return
            self.remove(full)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        if type_ == "dir":
            os.mkdir(full)
            os.chmod(full, 0o777)
        elif type_ == "symlink":
            os.symlink("target", full)
        else:
            with open(full, "w") as f:
                f.write("data\n")
            os.chmod(full, 0o777)

    @staticmethod
    def remove(full):
        if os.path.isdir(full) and not os.path.islink(full):
            shutil.rmtree(full)
        elif os.path.lexists(full):
            os.unlink(full)

    def prepare(self, row, type_):
        path, op = row["path"], row["op"]
        self.ancestors(path)
        root, rel = self.place(path, type_)
        full = os.path.join(root, rel)
        if op == "create":
            self.remove(full)
        else:
            self.make(full, type_)
            if op in ("chmod", "chown"):  # only the owner may
                os.lchown(full, int(row["args"].get("uid", 0)), int(row["args"].get("gid", 0)))
            if op == "delete" and type_ == "dir":
                for name in os.listdir(full):
                    self.remove(os.path.join(full, name))
        to = row["args"].get("to")
        if to:
            self.ancestors(to)
            troot, trel = self.place(to, type_)
            self.remove(os.path.join(troot, trel))


def declared_roots(policy):
    with open(policy) as f:
        return re.findall(r"^\s*lower\s+([A-Za-z_]\w*)\s*=", f.read(), re.M)


def main():
    env = Env("eval_mount")
    check = Checker(env)
    fsc = os.path.join(os.path.dirname(env.fsrun), "fsc")
    rows_run = 0
    for table in sorted(os.listdir(TABLES)):
        if not table.endswith(".eval"):
            continue
        policy, rows = read_table(os.path.join(TABLES, table))
        name = table[:-len(".eval")]
        roots = {"main": env.path(name, "main")}
        for root in declared_roots(policy):
            roots[root] = env.path(name, root)
        for d in roots.values():
            os.makedirs(d)
            os.chmod(d, 0o777)
        tree = Tree(fsc, policy, roots)
        mnt = os.path.join(env.work, "mnt-" + name)
        options = ["allow_other", "default_permissions=false", "cache=never",
                   "audit_log=" + os.path.join(env.work, name + "-audit.log")]
        options += [f"lower.{r}={d}" for r, d in roots.items() if r != "main"]
        proc = env.mount(roots["main"], mnt, ",".join(options), policy=policy)
        for row in rows:
            args = row["args"]
            type_ = "dir" if row["path"] == "/" else args.get("type", "file")
            tree.prepare(row, type_)
            request = {"path": mnt + row["path"], "op": row["op"], "type": type_,
                       "to": mnt + args["to"] if "to" in args else "", "comm": args.get("comm", "")}
            uid, gid = args.get("uid", "0"), args.get("gid", "0")
            r = subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups",
                                sys.executable, "-c", WORKER, json.dumps(request)],
                               capture_output=True, text=True, timeout=60, cwd="/")
            got = r.stdout.strip() or f"worker failed: {r.stderr.strip()}"
            want = "ok" if row["expect"] == "allow" else row["expect"]
            check.equal(got, want, f"{table}:{row['number']}: {row['raw']}")
            rows_run += 1
        env.umount(mnt, proc)
    print(f"{rows_run} rows run on mounts")
    check.check(rows_run > 100, "the tables were found")
    check.finish()


if __name__ == "__main__":
    main()
