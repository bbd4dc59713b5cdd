#!/usr/bin/env python3
"""The man pages (docs/man/): each renders without a single groff warning
(`man --warnings`, as lintian checks them), and they keep up with the
tools: every command and long option `fsc --help` and `fsrun --help` list
is in fsc(1) and fsrun(8), every rule keyword of the language in fspol(5).

argv: FSC FSRUN SOURCE_DIR."""
import os
import re
import shutil
import subprocess
import sys

fsc, fsrun, source = sys.argv[1:4]
man_dir = os.path.join(source, "docs", "man")
failures = []

if shutil.which("man") is None:
    print("SKIP: man (man-db) is not installed")
    sys.exit(77)


def page_text(name):
    env = dict(os.environ, LC_ALL="C.UTF-8", MANROFFSEQ="", MANWIDTH="80")
    r = subprocess.run(["man", "--warnings", "-E", "UTF-8", "-l", "-Tutf8", "-Z", os.path.join(man_dir, name)],
                       capture_output=True, text=True, env=env)
    if r.returncode != 0 or r.stderr.strip():
        failures.append(f"{name}: {r.stderr.strip() or r.returncode}")
    # The words as a reader sees them (no font escapes).
    with open(os.path.join(man_dir, name)) as f:
        return re.sub(r"\\f[BIRP]|\\-|\\\(dq|\\c", lambda m: "-" if m.group() == "\\-" else "", f.read())


def help_words(tool, *args):
    r = subprocess.run([tool, *args], capture_output=True, text=True)
    return r.stdout + r.stderr


pages = {name: page_text(name) for name in ("fsc.1", "fsrun.8", "fspol.5")}
with open(os.path.join(man_dir, "mount.fspol.8")) as f:
    if f.read().strip() != ".so man8/fsrun.8":
        failures.append("mount.fspol.8 is the fsrun(8) page")

fsc_help = help_words(fsc, "--help")
for option in sorted(set(re.findall(r"(--[a-z][a-z-]+)", fsc_help))):
    if option not in pages["fsc.1"]:
        failures.append(f"fsc(1) does not describe {option}")
for command in re.findall(r"^  ([a-z]+) ", fsc_help.split("commands:")[1].split("options:")[0], re.M):
    if command not in ("help", "version") and f"fsc {command}" not in pages["fsc.1"] \
            and f".B {command}" not in pages["fsc.1"]:
        failures.append(f"fsc(1) does not describe the command {command}")

fsrun_help = help_words(fsrun, "--help")
for option in sorted(set(re.findall(r"^  ([a-z_]+)(?:[=\[]|\s)", fsrun_help.split("Mount options")[1], re.M))):
    if option not in pages["fsrun.8"]:
        failures.append(f"fsrun(8) does not describe the mount option {option}")
for command in ("mount", "umount", "status", "reload"):
    if f"fsrun {command}" not in pages["fsrun.8"]:
        failures.append(f"fsrun(8) does not describe fsrun {command}")

keywords = re.findall(r"`(hide|deny|allow|readonly|attr|rename|casefold|redirect|handle|audit)`",
                      open(os.path.join(source, "grammar", "README.md")).read())
for keyword in sorted(set(keywords)):
    if f"\n.BI {keyword} " not in "\n" + pages["fspol.5"] and f".B {keyword}" not in pages["fspol.5"]:
        failures.append(f"fspol(5) does not describe the rule {keyword}")

for f in failures:
    print("FAIL:", f)
print(f"{len(failures)} problems" if failures else "ok: 3 pages clean and complete")
sys.exit(1 if failures else 0)
