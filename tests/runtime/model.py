"""The model the runtime tests hold a view against: the policy's meaning
(ir_eval, through `fsc explain POLICY -`, one fsc per policy kept as a
coprocess) and a model tree of what the view holds.

`Tree.expect(op, path, caller)` is what the view must answer to one
request. It follows what the kernel asks the daemon, in order: a lookup
of every ancestor (as a directory), a lookup of the path (unless it is
being made), then the operation's atoms; the first refusal ir_eval gives
is the answer. Where the policy allows, the lower file system answers
from the model tree: ENOENT, EEXIST, ENOTDIR, EISDIR, ENOTEMPTY, and
EXDEV for a rename to a name where other rules apply (a node keeps the
rules of its name: its path class and the hides of its ancestors,
docs/runtime.md). `Tree.apply` follows a result into the tree.

Used by differential_test.py (random policies, serial callers),
differential_layers_test.py (`attr_view`) and soak_test.py (parallel
callers, each in its own subtree)."""
import json
import re
import subprocess

# A request on an existing object -> the atoms ir_eval decides, in the
# order the daemon checks them.
ATOMS = {
    "stat": ["stat"],
    "read": ["read"],  # open(O_RDONLY)
    "readlink": ["read"],
    "write": ["write"],  # open(O_WRONLY)
    "append": ["write"],  # open(O_WRONLY | O_APPEND)
    "overwrite": ["write", "truncate"],  # open(O_WRONLY | O_TRUNC)
    "truncate": ["truncate"],
    "utimes": ["utimes"],
    "chmod": ["chmod"],
    "xattr_read": ["xattr_read"],
    "getxattr": ["xattr_read"],
    "listxattr": ["xattr_read"],
    "setxattr": ["xattr_write"],
    "removexattr": ["xattr_write"],
    # opendir(3) opens the directory, then fstat()s it.
    "readdir": ["readdir", "stat"],
    "delete": ["delete"],  # unlink
    "rmdir": ["delete"],
}
# A request that makes a name -> the type of the new object.
NEW = {"create": "file", "mkdir": "dir", "symlink": "symlink"}


def components(path):
    return [c for c in path.split("/") if c]


def ancestors(path):
    """The strict ancestors of `path`, from "/" down."""
    parts = components(path)
    return ["/"] + ["/" + "/".join(parts[:i]) for i in range(1, len(parts))]


def _word(text):
    return text.replace("%", "%25").replace(" ", "%20").replace("\t", "%09").replace("\n", "%0a")


class Oracle:
    """ir_eval's verdicts for one policy, cached: `fsc explain POLICY - --json`
    as a coprocess (docs/fsc.md), started on first use."""

    def __init__(self, fsc, policy):
        self.fsc, self.policy = fsc, policy
        self.cache = {}
        self.proc = None
        self._below = None

    def explain(self, path, op, type_="file", caller=(0, 0), to=None):
        """The JSON verdict of `fsc explain` for one request; caller is
        (uid, gid, ...)."""
        key = (path, op, type_, caller[0], caller[1], to)
        v = self.cache.get(key)
        if v is None:
            if self.proc is None:
                self.proc = subprocess.Popen([self.fsc, "explain", self.policy, "-", "--json"],
                                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            line = f"{op} {_word(path)} uid={caller[0]} gid={caller[1]} type={type_}"
            if to is not None:
                line += f" to={_word(to)}"
            self.proc.stdin.write(line + "\n")
            self.proc.stdin.flush()
            answer = self.proc.stdout.readline()
            if not answer:
                raise RuntimeError(f"fsc explain {self.policy} - ended at {line!r}")
            v = json.loads(answer)
            if "error" in v:
                raise RuntimeError(f"fsc explain {line!r}: {v['error']}")
            self.cache[key] = v
        return v

    def verdict(self, path, op, type_="file", caller=(0, 0), to=None):
        """"ok" or the errno name ir_eval answers."""
        v = self.explain(path, op, type_, caller, to)
        return "ok" if v["allowed"] else v["errno_name"]

    def path_class(self, path):
        return self.explain(path, "lookup", "dir")["class"]

    def hides_below(self, cls):
        """The hide rules covering everything below a directory of class
        `cls` (what a node's `hidden_above` records): the IR's "below it"
        line of each class (`fsc compile --emit=ir`)."""
        if self._below is None:
            ir = subprocess.run([self.fsc, "compile", "--emit=ir", self.policy], capture_output=True,
                                text=True, check=True).stdout
            self._below, current = {}, None
            for line in ir.splitlines():
                m = re.match(r"class (\d+) ", line)
                if m:
                    current = int(m.group(1))
                elif current is not None and line.startswith("  below it"):
                    self._below[current] = frozenset(int(r) for r in re.findall(r"\(rule (\d+)\)", line))
        return self._below.get(cls, frozenset())

    def node_state(self, path):
        """What decides whether a node may move to `path`: its path class
        and the hides of its ancestors. (Redirects and case folding also
        belong to a node's state; no policy the tests soak has them.)"""
        hides = frozenset().union(*(self.hides_below(self.path_class(a)) for a in ancestors(path)))
        return self.path_class(path), hides

    def close(self):
        if self.proc is not None:
            self.proc.stdin.close()
            self.proc.wait(timeout=30)
            self.proc = None


def attr_view(v, mode, uid, gid):
    """(mode, uid, gid) of a lower object as the view shows them: the attr
    effects ir_eval lists in verdict `v` applied to the lower values."""
    ids = {"uid": uid, "gid": gid}
    for rule in v["rules"]:
        if rule["layer"] != "attr":
            continue
        effect = rule["effect"]
        m = re.fullmatch(r"mode & (0[0-7]+) \| (0[0-7]+)", effect)
        if m:
            mode = (mode & int(m.group(1), 8)) | int(m.group(2), 8)
            continue
        m = re.fullmatch(r"(uid|gid) (=|\+=|-=) (\d+)", effect)
        if not m:
            raise RuntimeError(f"unknown attr effect {effect!r}")
        field, how, n = m.group(1), m.group(2), int(m.group(3))
        value = n if how == "=" else ids[field] + (n if how == "+=" else -n)
        ids[field] = value if how == "=" or 0 <= value <= 0xfffffffe else 65534
    return mode, ids["uid"], ids["gid"]


class Tree:
    """The tree as the view should hold it, and ir_eval's answers
    (`oracle`). `types` is all the differential test follows; the soak
    also follows file contents, lower modes and owners, xattrs and symlink
    targets (paths absent from those maps are not followed)."""

    def __init__(self, oracle):
        self.oracle = oracle
        self.types = {}  # path -> "file" | "dir" | "symlink" ("/" is implied)
        self.data = {}  # file -> bytes
        self.modes = {}  # path -> lower permission bits
        self.owners = {}  # path -> (uid, gid) of the lower object
        self.xattrs = {}  # path -> {name: bytes}
        self.targets = {}  # symlink -> target

    def type_of(self, path):
        return "dir" if path == "/" else self.types.get(path)

    def children(self, path):
        prefix = path.rstrip("/") + "/"
        return sorted(p for p in self.types
                      if p.startswith(prefix) and "/" not in p[len(prefix):])

    def walk(self, path, caller, include_self):
        """The lookups the kernel sends for `path`: "ok" or the first
        refusal (a missing ancestor: ENOENT, a non-directory: ENOTDIR)."""
        parts = components(path)
        for i in range(1, len(parts) + (1 if include_self else 0)):
            q = "/" + "/".join(parts[:i])
            t = self.types.get(q)
            if t is None:
                return "ENOENT"
            r = self.oracle.verdict(q, "lookup", t, caller)
            if r != "ok":
                return r
            if i < len(parts) and t != "dir":
                return "ENOTDIR"
        return "ok"

    def expect(self, op, path, caller):
        """The view's answer to `op` on `path` by `caller`: an errno name,
        "ok", or for readdir the sorted names listed."""
        if op in NEW:
            r = self.walk(path, caller, False)
            if r != "ok":
                return r
            if path in self.types:
                r = self.oracle.verdict(path, "lookup", self.types[path], caller)
                # A name the kernel found exists; a hidden one is made
                # over a hidden name.
                return "EEXIST" if r == "ok" else "EACCES" if r == "ENOENT" else r
            return self.oracle.verdict(path, "create", NEW[op], caller)
        type_ = self.type_of(path)
        if type_ is None:
            r = self.walk(path, caller, False)
            # A missing name is still looked up, and hidden or not, absent.
            return r if r != "ok" else "ENOENT"
        r = self.walk(path, caller, True)
        if r != "ok":
            return r
        if op == "delete" and type_ == "dir":
            return "EISDIR"
        if op in ("rmdir", "readdir") and type_ != "dir":
            return "ENOTDIR"
        for atom in ATOMS[op]:
            r = self.oracle.verdict(path, atom, type_, caller)
            if r != "ok":
                return r
        if op == "rmdir" and self.children(path):
            return "ENOTEMPTY"
        if op == "readdir":
            return sorted(p.rsplit("/", 1)[1] for p in self.children(path)
                          if self.oracle.verdict(p, "lookup", self.types[p], caller) != "ENOENT")
        return "ok"

    def expect_rename(self, src, dst, caller):
        """rename(src, dst): the lookups of both; what the kernel decides
        itself (the same name, a directory over a non-directory or back);
        ir_eval's rename (of both names); the node states; then the lower
        file system. (A move into itself or over an ancestor is the
        kernel's EINVAL or ENOTEMPTY before any of this: not modelled.)"""
        if src not in self.types:
            r = self.walk(src, caller, False)
            return r if r != "ok" else "ENOENT"
        r = self.walk(src, caller, True)
        if r == "ok":
            r = self.walk(dst, caller, False)
        if r != "ok":
            return r
        if dst == src:
            return "ok"  # the kernel's vfs_rename: same object, nothing to do
        type_ = self.types[src]
        target = self.types.get(dst)
        if target is not None:
            r = self.oracle.verdict(dst, "lookup", target, caller)
            if r == "ENOENT":
                target = None  # hidden: the kernel sees no target
            elif r != "ok":
                return r
        if target is not None and (type_ == "dir") != (target == "dir"):
            return "ENOTDIR" if type_ == "dir" else "EISDIR"
        r = self.oracle.verdict(src, "rename", type_, caller, to=dst)
        if r != "ok":
            return r
        if self.oracle.node_state(src) != self.oracle.node_state(dst):
            return "EXDEV"
        if target is not None and self.children(dst):
            return "ENOTEMPTY"
        return "ok"

    def _maps(self):
        return (self.types, self.data, self.modes, self.owners, self.xattrs, self.targets)

    def forget(self, path):
        for m in self._maps():
            m.pop(path, None)

    def apply(self, op, path, result, arg=None, caller=(0, 0)):
        """Follows one request's `result` ("ok" or an errno name; a listing
        counts as "ok") into the tree. `arg`: the data written, the mode
        set, the symlink's target, the new size, (xattr name, value), or
        the rename's new path."""
        if result != "ok" and not isinstance(result, list):
            return
        if arg is None and op not in NEW and op not in ("delete", "rmdir"):
            return  # a change the caller does not follow
        if op in NEW:
            self.types[path] = NEW[op]
            self.owners[path] = (caller[0], caller[1])
            self.xattrs[path] = {}
            if op == "create":
                self.data[path], self.modes[path] = b"", 0o644 if arg is None else arg
            elif op == "mkdir":
                self.modes[path] = 0o755 if arg is None else arg
            else:
                self.targets[path], self.modes[path] = arg, 0o777
        elif op in ("delete", "rmdir"):
            self.forget(path)
        elif op == "overwrite" and path in self.data:
            self.data[path] = arg
        elif op == "append" and path in self.data:
            self.data[path] += arg
        elif op == "truncate" and path in self.data:
            self.data[path] = self.data[path][:arg].ljust(arg, b"\0")
        elif op == "chmod":
            self.modes[path] = arg
        elif op == "setxattr":
            self.xattrs.setdefault(path, {})[arg[0]] = arg[1]
        elif op == "removexattr":
            self.xattrs.setdefault(path, {}).pop(arg, None)
        elif op == "rename" and arg != path:
            dst = arg
            if dst in self.types:
                self.forget(dst)
            moved = [p for p in self.types if p == path or p.startswith(path + "/")]
            for m in self._maps():
                for p in moved:
                    if p in m:
                        m[dst + p[len(path):]] = m.pop(p)
