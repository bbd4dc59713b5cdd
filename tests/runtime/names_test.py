#!/usr/bin/env python3
"""Name maps (rename rules) applied by the daemon.

A view whose rename rules swap the suffixes .markdown and .md below /docs
and the prefixes "_" and "." in /cfg, over a tree with known names:
  - listings (readdir and readdirplus) show view names; lookups, reads
    and stats by view name reach the lower names; the lower spelling is
    not reachable by its own name where a map turns it into another;
  - rules are decided on view names (a deny on *.md applies to the lower
    *.markdown files);
  - create, mkdir, symlink, link, rename and unlink by view name make and
    remove the mapped lower names;
  - a lower name no view name maps to (outside the selector the view
    name must match) is neither listed nor reachable, and is logged; one
    that two view names reach is listed under the map's;
  - a rename rule filtered on a file type maps the names of objects of
    that type only (a directory keeps its name), for lookups, listings,
    creates and renames;
  - the verdicts agree with `fsc explain`'s lower paths.
argv[1] adds mount options."""
import json
import os
import subprocess
import sys
import textwrap

from fsrun_env import Checker, Env

POLICY = textwrap.dedent("""
    policy names {
      rename "/docs/**" { suffix ".markdown" -> ".md"; suffix ".md" -> ".markdown"; }
      rename "/cfg/*" { prefix "_" -> "."; prefix "." -> "_"; }
      rename "/un/*.md" { suffix ".markdown" -> ".md"; suffix ".md" -> ".markdown"; }
      deny write on "/docs/**/*.md" errno EPERM;
    }
    """).lstrip()

TREE = {"docs/readme.markdown": "R", "docs/notes.md": "N", "docs/sub/a.markdown": "A",
        "docs/plain.txt": "P", "cfg/_env": "E", "cfg/.hidden": "H", "cfg/x": "X",
        "un/a.markdown": "UA", "un/b.md": "UB"}


def main():
    env = Env("names")
    check = Checker(env)
    fsc = os.path.join(os.path.dirname(env.fsrun), "fsc")
    extra = sys.argv[1] if len(sys.argv) > 1 else ""
    policy = os.path.join(env.work, "names.fspol")
    with open(policy, "w") as f:
        f.write(POLICY)
    lower = env.path("lower")
    for path, text in TREE.items():
        os.makedirs(os.path.dirname(os.path.join(lower, path)), exist_ok=True)
        with open(os.path.join(lower, path), "w") as f:
            f.write(text)
    mnt = os.path.join(env.work, "mnt")
    proc = env.mount(lower, mnt, extra or None, policy=policy)

    def ls(d):
        return sorted(os.listdir(os.path.join(mnt, d)))

    def read(p):
        try:
            with open(os.path.join(mnt, p)) as f:
                return f.read()
        except OSError as e:
            return os.strerror(e.errno)

    def lower_names(d):
        return sorted(os.listdir(os.path.join(lower, d)))

    check.equal(ls("docs"), ["notes.markdown", "plain.txt", "readme.md", "sub"], "docs lists view names")
    check.equal(ls("docs/sub"), ["a.md"], "below docs too")
    check.equal(ls("cfg"), [".env", "_hidden", "x"], "cfg lists view names")
    check.equal(ls("un"), ["a.md"], "a lower name no view name reaches is not listed, one that "
                "two do under the map's name")
    with os.scandir(os.path.join(mnt, "docs")) as it:
        sizes = {e.name: e.stat().st_size for e in it}
    check.equal(sizes, {"notes.markdown": 1, "plain.txt": 1, "readme.md": 1, "sub": sizes.get("sub")},
                "stat of listed names (readdirplus)")
    for view, want in (("docs/readme.md", "R"), ("docs/notes.markdown", "N"), ("docs/sub/a.md", "A"),
                       ("cfg/.env", "E"), ("cfg/_hidden", "H"), ("cfg/x", "X"), ("un/a.md", "UA"),
                       ("docs/readme.markdown", os.strerror(2)), ("cfg/_env", os.strerror(2)),
                       ("un/b.md", os.strerror(2)), ("un/b.markdown", os.strerror(2)),
                       # outside the map's selector, the lower name is its own view name
                       ("un/a.markdown", "UA")):
        check.equal(read(view), want, f"read {view}")
    # Rules see view names.
    for view, want in (("docs/readme.md", "EPERM"), ("docs/notes.markdown", "ok")):
        try:
            with open(os.path.join(mnt, view), "a") as f:
                f.write("+")
            got = "ok"
        except OSError as e:
            got = "EPERM" if e.errno == 1 else os.strerror(e.errno)
        check.equal(got, want, f"append to {view}")
    # Changes by view name land on the mapped lower names.
    d = os.path.join(mnt, "docs")
    with open(os.path.join(d, "new.markdown"), "w") as f:
        f.write("new")
    os.mkdir(os.path.join(mnt, "cfg", ".d"))
    os.symlink("readme.md", os.path.join(d, "s.markdown"))
    os.link(os.path.join(d, "plain.txt"), os.path.join(d, "hard.markdown"))
    check.equal(lower_names("docs"), ["hard.md", "new.md", "notes.md", "plain.txt",
                                      "readme.markdown", "s.md", "sub"], "creates map to lower names")
    check.equal(lower_names("cfg"), [".hidden", "_d", "_env", "x"], "mkdir .d makes _d")
    check.equal(read("docs/s.markdown"), "R", "a symlink through the view resolves by view names")
    os.rename(os.path.join(d, "new.markdown"), os.path.join(d, "newer.markdown"))
    os.unlink(os.path.join(d, "hard.markdown"))
    os.rmdir(os.path.join(mnt, "cfg", ".d"))
    check.equal(lower_names("docs"), ["newer.md", "notes.md", "plain.txt", "readme.markdown", "s.md",
                                      "sub"], "rename and unlink by view name")
    check.equal(lower_names("cfg"), [".hidden", "_env", "x"], "rmdir by view name")
    check.equal(read("docs/newer.markdown"), "new", "renamed file by its view name")
    # The reference evaluator maps the same way.
    for view, lower_path in (("/docs/readme.md", "/docs/readme.markdown"), ("/cfg/.env", "/cfg/_env"),
                             ("/un/b.md", "/un/b.markdown"), ("/un/a.markdown", "/un/a.markdown")):
        r = subprocess.run([fsc, "explain", policy, view, "--op", "read", "--json"],
                           capture_output=True, text=True)
        check.equal(json.loads(r.stdout)["lower_path"], lower_path, f"fsc explain lower path of {view}")
    env.umount(mnt, proc)
    logs = "".join(open(os.path.join(env.logs, f)).read() for f in os.listdir(env.logs))
    check.check("un/b.md: no view name maps to this lower name" in logs,
                "the unreachable lower name is logged")

    # A name map filtered on a file type: files ending in .a show as .b,
    # a directory ending in .a keeps its name; each name reaches only the
    # object its type maps it to.
    typed = os.path.join(env.work, "typed.fspol")
    with open(typed, "w") as f:
        f.write('policy typed {\n  rename file "/t/*" { suffix ".a" -> ".b"; suffix ".b" -> ".a"; }\n}\n')
    tl = env.path("typed_lower")
    os.makedirs(os.path.join(tl, "t", "d.a"))
    for name, text in (("f.a", "FA"), ("g.b", "GB")):
        with open(os.path.join(tl, "t", name), "w") as f:
            f.write(text)
    proc = env.mount(tl, mnt, extra or None, policy=typed)
    check.equal(ls("t"), ["d.a", "f.b", "g.a"], "typed map: files mapped, the directory not")
    for view, want in (("t/f.b", "FA"), ("t/g.a", "GB"), ("t/f.a", os.strerror(2)),
                       ("t/g.b", os.strerror(2))):
        check.equal(read(view), want, f"typed map: read {view}")
    check.check(os.path.isdir(os.path.join(mnt, "t/d.a")), "typed map: the directory by its own name")
    check.check(not os.path.exists(os.path.join(mnt, "t/d.b")), "typed map: not by a file's view name")
    with open(os.path.join(mnt, "t/new.b"), "w") as f:
        f.write("N")
    os.mkdir(os.path.join(mnt, "t/e.b"))
    os.rename(os.path.join(mnt, "t/f.b"), os.path.join(mnt, "t/h.b"))
    check.equal(sorted(os.listdir(os.path.join(tl, "t"))), ["d.a", "e.b", "g.b", "h.a", "new.a"],
                "typed map: a new file and a renamed one get mapped lower names, a new directory not")
    for view, want in (("/t/h.b", "/t/h.a"), ("/t/e.b", "/t/e.b")):
        kind = "file" if view.endswith("h.b") else "dir"
        r = subprocess.run([fsc, "explain", typed, view, "--op", "read", "--type", kind, "--json"],
                           capture_output=True, text=True)
        check.equal(json.loads(r.stdout)["lower_path"], want, f"typed map: fsc explain lower path of {view}")
    env.umount(mnt, proc)
    check.finish()


if __name__ == "__main__":
    main()
