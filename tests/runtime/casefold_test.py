#!/usr/bin/env python3
"""Case folding (casefold rules) applied by the daemon:
examples/case-insensitive.fspol over a game tree with mixed-case names.

  - below the casefold roots any spelling reaches the stored name, for
    lookups, reads, stats and every change (so a read-only rule cannot be
    escaped by spelling a name otherwise); outside them case matters;
  - listings show names as stored; rules decide on the folded path (the
    hide of "*.tmp" hides "Patch.TMP"), conditions on the process name
    included;
  - a new name is created as the caller spells it, in the directory as
    stored; a change through one spelling is seen at once through every
    other (no stale kernel entry);
  - two stored names that differ only in case: each is reached by its
    exact spelling, any other spelling reaches the first in byte order.
argv[1] adds mount options."""
import os
import subprocess
import sys

from fsrun_env import Checker, Env

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLE = os.path.join(HERE, "..", "..", "examples", "case-insensitive.fspol")

TREE = {"Data Files/Textures/Rock.DDS": "rock", "Data Files/Meshes/a.nif": "mesh",
        "Mods/SkyUI/Interface.esp": "esp", "Mods/SkyUI/Patch.TMP": "tmp",
        "Mods/.staging/x": "x", "Mods/Case/File.txt": "upper", "Mods/Case/file.TXT": "lower",
        "Readme.TXT": "readme", "Saves/.keep": ""}

# Runs as a process named argv[2] (its comm), prints one line per step.
ACT = r'''
import os, sys
with open("/proc/self/comm", "w") as f:
    f.write(sys.argv[2])
root = sys.argv[1]
def step(name, fn):
    try:
        r = fn()
        print(name, "ok" if r is None else r)
    except OSError as e:
        print(name, os.strerror(e.errno))
def read(p):
    with open(os.path.join(root, p)) as f:
        return f.read()
def write(p, text):
    with open(os.path.join(root, p), "w") as f:
        f.write(text)
step("read-exact", lambda: read("Data Files/Textures/Rock.DDS"))
step("read-lower", lambda: read("data files/textures/rock.dds"))
step("read-upper", lambda: read("DATA FILES/TEXTURES/ROCK.DDS"))
step("read-outside", lambda: read("readme.txt"))
step("read-outside-exact", lambda: read("Readme.TXT"))
step("list", lambda: ",".join(sorted(os.listdir(os.path.join(root, "data files/textures")))))
step("list-mods", lambda: ",".join(sorted(os.listdir(os.path.join(root, "MODS/skyui")))))
step("read-tmp", lambda: read("Mods/SkyUI/Patch.TMP"))
step("write-ro", lambda: write("data files/meshes/A.NIF", "new"))
step("unlink-ro", lambda: os.unlink(os.path.join(root, "DATA FILES/MESHES/A.NIF")))
step("case-exact-1", lambda: read("Mods/Case/File.txt"))
step("case-exact-2", lambda: read("mods/case/file.TXT"))
step("case-other", lambda: read("MODS/CASE/FILE.TXT"))
step("create", lambda: write("saves/Slot1.SAV", "s1"))
step("read-created", lambda: read("SAVES/slot1.sav"))
step("rename", lambda: os.rename(os.path.join(root, "saves/slot1.sav"),
                                 os.path.join(root, "Saves/Slot2.sav")))
step("exists-old", lambda: os.path.exists(os.path.join(root, "Saves/Slot1.SAV")))
step("read-renamed", lambda: read("SAVES/SLOT2.SAV"))
step("unlink", lambda: os.unlink(os.path.join(root, "saves/SLOT2.sav")))
step("exists-after", lambda: os.path.exists(os.path.join(root, "Saves/Slot2.sav")))
step("mkdir", lambda: os.mkdir(os.path.join(root, "saves/Profile")))
step("mkdir-again", lambda: os.mkdir(os.path.join(root, "SAVES/PROFILE")))
'''


def run(mnt, comm):
    r = subprocess.run([sys.executable, "-I", "-c", ACT, mnt, comm], capture_output=True, text=True,
                       timeout=60)
    if r.returncode != 0:
        raise RuntimeError(r.stderr)
    return dict(line.split(" ", 1) for line in r.stdout.splitlines())


def main():
    env = Env("casefold")
    check = Checker(env)
    extra = sys.argv[1] if len(sys.argv) > 1 else ""
    lower = env.path("lower")
    for path, text in TREE.items():
        os.makedirs(os.path.dirname(os.path.join(lower, path)), exist_ok=True)
        with open(os.path.join(lower, path), "w") as f:
            f.write(text)
    mnt = os.path.join(env.work, "mnt")
    proc = env.mount(lower, mnt, extra or None, policy=EXAMPLE)
    enoent, erofs = os.strerror(2), os.strerror(30)
    want = {"read-exact": "rock", "read-lower": "rock", "read-upper": "rock",
            "read-outside": enoent, "read-outside-exact": "readme", "list": "Rock.DDS",
            "list-mods": "Interface.esp", "read-tmp": enoent, "write-ro": erofs,
            "unlink-ro": erofs, "case-exact-1": "upper", "case-exact-2": "lower",
            "case-other": "upper", "create": "ok", "read-created": "s1", "rename": "ok",
            "exists-old": "False", "read-renamed": "s1", "unlink": "ok", "exists-after": "False",
            "mkdir": "ok", "mkdir-again": os.strerror(17)}
    got = run(mnt, "game")
    for k, v in want.items():
        check.equal(got.get(k), v, f"game: {k}")
    check.equal(sorted(os.listdir(os.path.join(lower, "Saves"))), [".keep", "Profile"],
                "the lower directory keeps the caller's spellings")
    # The mod manager sees the staging files and writes the game data.
    got = run(mnt, "modmanager")
    check.equal(got["read-tmp"], "tmp", "modmanager: staging files are visible")
    check.equal(got["list-mods"], "Interface.esp,Patch.TMP", "modmanager: listed too")
    check.equal((got["write-ro"], got["unlink-ro"]), ("ok", "ok"),
                "modmanager: writes and deletes game data through any spelling")
    check.equal(os.listdir(os.path.join(lower, "Data Files", "Meshes")), [],
                "the delete removed the stored name")
    env.umount(mnt, proc)
    check.finish()


if __name__ == "__main__":
    main()
