#!/usr/bin/env python3
"""Placement (redirect rules) applied by the daemon.

A view in the style of examples/redirect.fspol (object files from an
object store, locale data from a shared root) plus a writable redirected
subtree, over three lower roots whose every file holds its own lower path:
  - every read reaches the file `fsc explain` names (root and path), and
    a file in the main root that a typed redirect places elsewhere is not
    in the view, while a directory at the same place is;
  - listings merge the names redirects bring in, placed as lookups place
    them, with working offsets (telldir/seekdir);
  - create, mkdir, symlink, unlink, rmdir and rename inside a redirected
    subtree change its target root, as the caller (uid 1000 cannot write
    root's directory there); a rename or a hard link between two roots
    answers EXDEV, and mv falls back to copying through the view;
  - a symlink in a target root that points out of it is not followed out;
  - bad input: a lower root that is missing or a file, an undeclared
    -o lower.NAME, a relative root in the policy, each refuses the mount
    naming it; a relative -o lower.NAME is taken from the working
    directory; a redirect target
    removed at run time answers ENOENT and the view keeps serving.
argv[1] adds mount options."""
import errno
import json
import os
import subprocess
import sys
import textwrap
import time

from fsrun_env import Checker, Env

POLICY = textwrap.dedent("""
    policy placed {
      lower objects = "/nonexistent/objects";
      lower shared = "/nonexistent/shared";
      redirect file "/objects/[0-9a-f][0-9a-f]/*" to objects;
      redirect "/usr/share/locale/**", "/usr/share/zoneinfo/**" to shared "/common";
      redirect "/data/cache/**" to shared "/cache";
      readonly "/objects/**" errno EROFS;
    }
    """).lstrip()

# root -> files (each holds "<root>:/<path>")
TREES = {
    "main": ["objects/ab/fake", "objects/ab/sub/inner", "objects/ef/.keep", "usr/bin/env", "usr/share/locale/zz",
             "usr/share/doc/readme", "data/own", "data/cache/shadowed"],
    "objects": ["ab/cd01", "ab/cd02", "ef/gh", "ab/fake", "99/x"],
    "shared": ["common/de/LC_MESSAGES/x.mo", "common/UTC", "cache/c1", "cache/sub/c2"],
}


def main():
    env = Env("redirect")
    check = Checker(env)
    fsc = os.path.join(os.path.dirname(env.fsrun), "fsc")
    extra = sys.argv[1] if len(sys.argv) > 1 else ""
    policy = os.path.join(env.work, "placed.fspol")
    with open(policy, "w") as f:
        f.write(POLICY)
    roots = {name: env.path(name) for name in TREES}
    for name, files in TREES.items():
        for rel in files:
            path = os.path.join(roots[name], rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(f"{name}:/{rel}")
    os.chmod(os.path.join(roots["shared"], "cache"), 0o755)
    mnt = os.path.join(env.work, "mnt")
    opts = f"lower.objects={roots['objects']},lower.shared={roots['shared']}"
    proc = env.mount(roots["main"], mnt, opts + ("," + extra if extra else ""), policy=policy)

    def explain(view):
        r = subprocess.run([fsc, "explain", policy, view, "--op", "read", "--json"],
                           capture_output=True, text=True)
        v = json.loads(r.stdout)
        return f"{v.get('lower_root') or 'main'}:{v['lower_path']}"

    def read(rel):
        try:
            with open(os.path.join(mnt, rel)) as f:
                return f.read()
        except OSError as e:
            return errno.errorcode[e.errno]

    # Reads reach what fsc explain names; main's files at a place a typed
    # redirect gives to the object store are not in the view.
    for view in ["objects/ab/cd01", "objects/ab/fake", "usr/bin/env",
                 "usr/share/locale/de/LC_MESSAGES/x.mo", "usr/share/zoneinfo/UTC",
                 "usr/share/doc/readme", "data/own", "data/cache/c1", "data/cache/sub/c2"]:
        check.equal(read(view), explain("/" + view), f"read /{view}")
    check.equal(read("objects/ab/sub/inner"), "main:/objects/ab/sub/inner",
                "a directory where files are redirected stays in main")
    check.equal(read("usr/share/locale/zz"), "ENOENT", "main's locale is replaced by shared's")
    check.equal(read("data/cache/shadowed"), "ENOENT", "main's cache is replaced by shared's")
    check.equal(read("objects/ab/nothing"), "ENOENT", "a missing object")

    # Listings merge what redirects bring in.
    def ls(rel):
        return sorted(os.listdir(os.path.join(mnt, rel)))
    check.equal(ls("objects/ab"), ["cd01", "cd02", "fake", "sub"], "objects/ab lists objects' files")
    check.equal(read("objects/ab/fake"), "objects:/ab/fake", "a name in both places shows the object")
    # The directories stay in main: without main's objects/ef, nothing
    # below it shows.
    check.equal(read("objects/99/x"), "ENOENT", "objects/99/x without main's objects/99")
    check.equal(read("objects/ef/gh"), explain("/objects/ef/gh"), "objects/ef/gh with main's objects/ef")
    check.equal(ls("objects/ef"), ["gh"], "objects/ef lists objects' ef (main's file is not there)")
    check.equal(ls("usr/share"), ["doc", "locale", "zoneinfo"], "usr/share lists the redirected names")
    check.equal(ls("usr/share/locale"), ["UTC", "de"], "locale lists shared's common")
    check.equal(ls("data/cache"), ["c1", "sub"], "data/cache lists shared's cache")
    st = os.lstat(os.path.join(mnt, "usr/share/zoneinfo"))
    check.equal(st.st_ino, os.lstat(os.path.join(roots["shared"], "common")).st_ino,
                "zoneinfo is shared's common")
    # telldir/seekdir over a merged listing
    r = subprocess.run([sys.executable, "-c", textwrap.dedent("""
        import ctypes, ctypes.util, sys
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        libc.opendir.restype = ctypes.c_void_p
        libc.readdir.restype = ctypes.c_void_p
        libc.readdir.argtypes = [ctypes.c_void_p]
        libc.telldir.argtypes = [ctypes.c_void_p]
        libc.telldir.restype = ctypes.c_long
        libc.seekdir.argtypes = [ctypes.c_void_p, ctypes.c_long]
        d = libc.opendir(sys.argv[1].encode())
        def name(p):
            return ctypes.string_at(p + 19).decode()
        names = []
        marks = []
        while True:
            marks.append(libc.telldir(d))
            p = libc.readdir(d)
            if not p:
                break
            names.append(name(p))
        libc.seekdir(d, marks[2])
        again = []
        while True:
            p = libc.readdir(d)
            if not p:
                break
            again.append(name(p))
        print(names[2:] == again, len(names))
        """), os.path.join(mnt, "objects/ab")], capture_output=True, text=True)
    check.equal(r.stdout.strip(), "True 6", "seekdir into a merged listing resumes there")

    # Changes in a redirected subtree change its target root.
    cache = os.path.join(mnt, "data/cache")
    with open(os.path.join(cache, "new"), "w") as f:
        f.write("n")
    check.equal(open(os.path.join(roots["shared"], "cache/new")).read(), "n", "create lands in shared")
    os.mkdir(os.path.join(cache, "d"))
    check.check(os.path.isdir(os.path.join(roots["shared"], "cache/d")), "mkdir lands in shared")
    os.symlink("c1", os.path.join(cache, "d/link"))
    check.equal(os.readlink(os.path.join(roots["shared"], "cache/d/link")), "c1", "symlink lands in shared")
    os.rename(os.path.join(cache, "new"), os.path.join(cache, "d/moved"))
    check.equal(open(os.path.join(roots["shared"], "cache/d/moved")).read(), "n", "rename within shared")
    os.unlink(os.path.join(cache, "d/moved"))
    os.unlink(os.path.join(cache, "d/link"))
    os.rmdir(os.path.join(cache, "d"))
    check.equal(sorted(os.listdir(os.path.join(roots["shared"], "cache"))), ["c1", "sub"],
                "unlink and rmdir in shared")
    check.check(not os.path.exists(os.path.join(roots["main"], "data/cache/new")), "main untouched")

    def errname(fn):
        try:
            fn()
            return "ok"
        except OSError as e:
            return errno.errorcode[e.errno]
    check.equal(errname(lambda: os.rename(os.path.join(mnt, "data/own"), os.path.join(cache, "own"))),
                "EXDEV", "rename from main into shared")
    check.equal(errname(lambda: os.link(os.path.join(cache, "c1"), os.path.join(mnt, "data/c1"))),
                "EXDEV", "hard link from shared into main")
    r = subprocess.run(["mv", os.path.join(mnt, "data/own"), cache], capture_output=True, text=True)
    check.check(r.returncode == 0 and open(os.path.join(roots["shared"], "cache/own")).read() ==
                "main:/data/own" and not os.path.exists(os.path.join(roots["main"], "data/own")),
                f"mv copies across roots: {r.stderr}")
    check.equal(errname(lambda: open(os.path.join(mnt, "objects/ab/cd01"), "a")), "EROFS",
                "readonly holds on a redirected file")
    r = subprocess.run(["setpriv", "--reuid=1000", "--regid=1000", "--clear-groups", "touch",
                        os.path.join(cache, "theirs")], capture_output=True, text=True)
    check.check(r.returncode != 0 and "Permission denied" in r.stderr and
                not os.path.exists(os.path.join(roots["shared"], "cache/theirs")),
                f"uid 1000 cannot write root's redirected directory: {r.stderr.strip()}")

    # A symlink in a target root pointing out of it is not followed out.
    os.symlink("/etc", os.path.join(roots["objects"], "ee"))
    os.symlink("../../" * 8 + "etc", os.path.join(roots["objects"], "ff"))
    os.makedirs(os.path.join(roots["main"], "objects/ee"))
    os.makedirs(os.path.join(roots["main"], "objects/ff"))
    check.equal(read("objects/ee/passwd"), "ENOENT", "an absolute symlink out of a target root")
    check.equal(read("objects/ff/passwd"), "ENOENT", "a .. symlink out of a target root")
    check.equal(ls("objects/ee"), [], "nothing listed through a symlink out of a target root")

    # A target removed at run time: ENOENT, the view keeps serving.
    os.rename(os.path.join(roots["shared"], "common"), os.path.join(roots["shared"], "gone"))
    check.equal(read("usr/share/zoneinfo/UTC"), "ENOENT", "a removed target answers ENOENT")
    check.equal(read("usr/bin/env"), "main:/usr/bin/env", "the view keeps serving")
    os.rename(os.path.join(roots["shared"], "gone"), os.path.join(roots["shared"], "common"))
    # The kernel may keep the ENOENT of a lookup for negative_timeout (1 s)
    # when the entries above had expired (a slow run, e.g. under ASan).
    deadline = time.monotonic() + 3
    while read("usr/share/zoneinfo/UTC") == "ENOENT" and time.monotonic() < deadline:
        time.sleep(0.1)
    check.equal(read("usr/share/zoneinfo/UTC"), "shared:/common/UTC", "the target is back")
    env.umount(mnt, proc)

    # Bad input refuses the mount, naming the root and the reason.
    def refused(options, want):
        r = subprocess.run([env.fsrun, "mount", policy, roots["main"], mnt, "-o", options],
                           capture_output=True, text=True, timeout=30)
        check.check(r.returncode != 0 and want in r.stderr, f"-o {options}: {r.returncode} {r.stderr}")
    refused(f"lower.shared={roots['shared']}",
            "cannot open lower root 'objects' (/nonexistent/objects): No such file or directory")
    refused(f"lower.objects={roots['main']}/usr/bin/env,lower.shared={roots['shared']}",
            f"cannot open lower root 'objects' ({roots['main']}/usr/bin/env): Not a directory")
    refused(opts + ",lower.other=/tmp", "-o lower.other=/tmp: the policy declares no lower root "
            "'other' (it declares objects, shared)")
    rel = os.path.join(env.work, "relative.fspol")
    with open(rel, "w") as f:
        f.write('policy rel {\n  lower o = "objects";\n  redirect "/o/**" to o;\n}\n')
    r = subprocess.run([env.fsrun, "mount", rel, roots["main"], mnt], capture_output=True, text=True,
                       timeout=30)
    check.check(r.returncode != 0 and "relative.fspol:2:13: error: a lower root's path must be "
                "absolute" in r.stderr, f"a relative lower root in a policy: {r.stderr}")

    # Relative -o lower.NAME paths name directories from the caller's
    # working directory, as LOWER does (the daemon runs in /).
    r = subprocess.run([env.fsrun, "mount", policy, "main", mnt, "-o",
                        "lower.objects=objects,lower.shared=shared"], cwd=env.fs, capture_output=True,
                       text=True, timeout=30)
    check.check(r.returncode == 0, f"relative lower roots mount: {r.stderr}")
    if r.returncode == 0:
        env.mounts.append(mnt)
        check.equal(read("objects/ab/cd01"), "objects:/ab/cd01", "a relative lower root")
        env.umount(mnt)
    check.finish()


if __name__ == "__main__":
    main()
