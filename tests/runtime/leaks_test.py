#!/usr/bin/env python3
"""The hiding leaks docs/semantics.md ("Hiding leaks") decides, on a real
mount: what hide rules hide must be unreachable by every operation, not
only absent from listings.

  - rmdir of a directory that looks empty but holds hidden entries fails
    ENOTEMPTY and removes nothing;
  - renaming an ancestor of a hidden path answers EXDEV; `mv` then copies
    what is visible and fails to remove the rest, so the hidden entry never
    shows under the new name;
  - renaming or linking onto a hidden name is EACCES, linking a hidden file
    ENOENT; an fd opened before a rename keeps working (decided at open),
    a new name made in the lower directory behind the view's back is
    decided by its own rules;
  - st_nlink of a directory is 1 where listings are reshaped;
  - a symlink in the view pointing at a hidden path shows its text but
    cannot be followed there;
  - xattrs: a hidden file has none reachable; listxattr is xattr_read;
  - O_PATH fds and openat with `..` from inside a redirect walk the
    view's names, never the target root's;
  - a lower that resolves other bytes to a stored name (here: a
    case-insensitive fspol view stacked below) reaches names only as
    stored: "SECRET" neither finds nor makes what `hide "/secret"` hides.
argv[1] adds mount options."""
import errno
import os
import stat
import subprocess
import sys
import textwrap

from fsrun_env import Checker, Env

POLICY = textwrap.dedent("""
    policy leaks {
      lower store = "/nonexistent/store";
      hide "/a/secret", "/**/*.key", dir "/pub/hiddendir";
      deny xattr_read on "/pub/noxattr";
      redirect "/cache/**" to store "/c";
    }
    """).lstrip()

FOLD = 'policy fold {\n  casefold "/**";\n}\n'
HIDE_SECRET = 'policy upper {\n  hide "/secret";\n  deny write on "/private";\n}\n'


def errname(fn):
    try:
        fn()
        return "ok"
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def main():
    env = Env("leaks")
    check = Checker(env)
    extra = sys.argv[1] if len(sys.argv) > 1 else None
    policy = os.path.join(env.work, "leaks.fspol")
    with open(policy, "w") as f:
        f.write(POLICY)
    lower, store = env.path("lower"), env.path("store")
    for p, text in {"a/secret": "S", "a/visible": "V", "d/only.key": "K", "pub/f": "F",
                    "pub/noxattr": "N", "pub/hiddendir/h": "H", "pub/sub1/x": "1",
                    "pub/sub2/x": "2"}.items():
        write(os.path.join(lower, p), text)
    write(os.path.join(store, "c/dir1/f"), "C")
    os.symlink("../a/secret", os.path.join(lower, "pub/to_secret"))
    os.setxattr(os.path.join(lower, "a/visible"), "user.note", b"v")
    os.setxattr(os.path.join(lower, "a/secret"), "user.note", b"s")
    os.setxattr(os.path.join(lower, "pub/noxattr"), "user.note", b"n")
    mnt = os.path.join(env.work, "mnt")
    opts = ",".join(o for o in (extra, f"lower.store={store}") if o)
    proc = env.mount(lower, mnt, opts, policy=policy)
    m = lambda p: os.path.join(mnt, p)  # noqa: E731

    # rmdir of a directory that looks empty.
    check.equal(os.listdir(m("d")), [], "d looks empty")
    check.equal(errname(lambda: os.rmdir(m("d"))), "ENOTEMPTY", "rmdir of d")
    check.check(os.path.exists(os.path.join(lower, "d/only.key")), "the hidden entry is kept")

    # Renaming an ancestor of a hidden path.
    check.equal(errname(lambda: os.rename(m("a"), m("b"))), "EXDEV", "rename a to b")
    r = subprocess.run(["mv", m("a"), m("b")], capture_output=True, text=True)
    check.check(r.returncode != 0 and "Directory not empty" in r.stderr,
                f"mv a b copies and cannot remove a: {r.returncode} {r.stderr.strip()}")
    check.equal(sorted(os.listdir(m("b"))), ["visible"], "b holds only what was visible")
    check.equal(errname(lambda: os.stat(m("b/secret"))), "ENOENT", "b/secret")
    check.equal(sorted(os.listdir(os.path.join(lower, "a"))), ["secret"], "the secret stays in a")
    check.equal(errname(lambda: os.rename(m("b"), m("a2"))), "ok", "a rename within the same rules")

    # Names made onto hidden ones, links, open fds across renames.
    check.equal(errname(lambda: os.rename(m("pub/f"), m("pub/f.key"))), "EACCES", "rename onto *.key")
    check.equal(errname(lambda: os.link(m("pub/f"), m("pub/g.key"))), "EACCES", "link onto *.key")
    check.equal(errname(lambda: os.link(m("a/secret"), m("pub/s"))), "ENOENT", "link of a hidden file")
    with open(m("pub/f")) as held:
        check.equal(errname(lambda: os.rename(m("pub/f"), m("pub/g"))), "ok", "rename pub/f to pub/g")
        check.equal(held.read(), "F", "an fd opened before a rename reads on")
        os.rename(os.path.join(lower, "pub/g"), os.path.join(lower, "pub/g.key"))
        held.seek(0)
        check.equal(held.read(), "F", "and after the lower name became hidden (decided at open)")
    check.equal(errname(lambda: open(m("pub/g.key")).close()), "ENOENT", "a new open of the hidden name")
    check.equal(errname(lambda: open(m("pub/g")).close()), "ENOENT", "nor by the old name")

    # st_nlink of directories.
    check.equal(os.lstat(os.path.join(lower, "pub")).st_nlink, 5, "the lower pub counts 3 subdirs")
    check.equal(os.lstat(m("pub")).st_nlink, 1, "the view's pub shows 1")
    with os.scandir(mnt) as it:
        links = {e.name: e.stat(follow_symlinks=False).st_nlink for e in it if e.is_dir()}
    check.check(all(v == 1 for v in links.values()), f"readdirplus attributes too: {links}")
    r = subprocess.run(["find", m("pub"), "-type", "d"], capture_output=True, text=True)
    check.equal(sorted(r.stdout.split()), [m("pub"), m("pub/sub1"), m("pub/sub2")], "find sees the rest")

    # Symlinks to hidden paths.
    check.equal(os.readlink(m("pub/to_secret")), "../a/secret", "the link's text")
    check.equal(errname(lambda: open(m("pub/to_secret")).close()), "ENOENT", "following it")
    os.symlink("../d/only.key", m("pub/to_key"))
    check.equal(errname(lambda: os.stat(m("pub/to_key"))), "ENOENT", "a new link to a hidden file")

    # Extended attributes.
    check.equal(os.listxattr(m("a2/visible")), ["user.note"], "xattr names of a visible file")
    check.equal(errname(lambda: os.listxattr(m("a/secret"))), "ENOENT", "listxattr of a hidden file")
    check.equal(errname(lambda: os.getxattr(m("a/secret"), "user.note")), "ENOENT", "getxattr of it")
    check.equal(errname(lambda: os.setxattr(m("a/secret"), "user.x", b"1")), "ENOENT", "setxattr of it")
    check.equal(errname(lambda: os.listxattr(m("pub/noxattr"))), "EACCES", "listxattr is xattr_read")

    # O_PATH and `..` from inside a redirect.
    fd = os.open(m("cache/dir1"), os.O_PATH)
    try:
        up = os.open("..", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        check.equal(sorted(os.listdir(up)), ["dir1"], ".. of cache/dir1 is the view's cache")
        os.close(up)
        top = os.open("../..", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        check.equal(sorted(os.listdir(top)), sorted(os.listdir(mnt)), "../.. is the view's root")
        os.close(top)
        check.equal(errname(lambda: os.close(os.open("../../a/secret", os.O_RDONLY, dir_fd=fd))),
                    "ENOENT", "../../a/secret from inside the redirect")
        check.equal(errname(lambda: os.close(os.open("../../a/secret", os.O_PATH, dir_fd=fd))),
                    "ENOENT", "with O_PATH too")
        with open(os.open("f", os.O_RDONLY, dir_fd=fd)) as f:
            check.equal(f.read(), "C", "openat below the redirect")
    finally:
        os.close(fd)
    env.umount(mnt, proc)

    # A lower that resolves other bytes to a stored name: a case-insensitive
    # view below a view that hides /secret.
    base, folded, upper = env.path("base"), os.path.join(env.work, "folded"), os.path.join(env.work, "upper")
    write(os.path.join(base, "secret"), "S")
    write(os.path.join(base, "Readme"), "R")
    write(os.path.join(base, "private"), "P")
    for name, text in (("fold.fspol", FOLD), ("upper.fspol", HIDE_SECRET)):
        with open(os.path.join(env.work, name), "w") as f:
            f.write(text)
    fold_proc = env.mount(base, folded, None, policy=os.path.join(env.work, "fold.fspol"))
    check.equal(open(os.path.join(folded, "SECRET")).read(), "S", "the lower view folds case")
    up_proc = env.mount(folded, upper, extra, policy=os.path.join(env.work, "upper.fspol"))
    u = lambda p: os.path.join(upper, p)  # noqa: E731
    check.equal(sorted(os.listdir(upper)), ["Readme", "private"], "listed as stored, secret hidden")
    check.equal(open(u("Readme")).read(), "R", "a stored name is reached")
    for spelling in ("SECRET", "Secret", "secret"):
        check.equal(errname(lambda: open(u(spelling)).close()), "ENOENT", f"open {spelling}")
    check.equal(errname(lambda: os.stat(u("README"))), "ENOENT", "other spellings are not names")
    check.equal(errname(lambda: open(u("PRIVATE"), "a").close()), "EACCES",
                "a spelling that reaches private is not made either")
    check.equal(errname(lambda: os.mkdir(u("SECRET"))), "EACCES", "mkdir SECRET")
    check.equal(errname(lambda: os.rename(u("Readme"), u("SECRET"))), "EACCES", "rename onto SECRET")
    check.equal(errname(lambda: os.symlink("x", u("Secret"))), "EACCES", "symlink Secret")
    check.equal(errname(lambda: open(u("new"), "w").close()), "ok", "a new name is made")
    check.equal(sorted(os.listdir(base)), ["Readme", "new", "private", "secret"], "nothing else changed")
    check.equal(open(os.path.join(base, "secret")).read(), "S", "the secret is intact")
    env.umount(upper, up_proc)
    env.umount(folded, fold_proc)
    logs = "".join(open(os.path.join(env.logs, f)).read() for f in os.listdir(env.logs))
    check.check("is on fuse, which may resolve other bytes to a stored name" in logs,
                "the stacked lower is logged")
    check.check(stat.S_ISDIR(os.lstat(base).st_mode), "base kept")
    check.finish()


if __name__ == "__main__":
    main()
