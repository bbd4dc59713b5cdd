#!/usr/bin/env python3
"""Runs fsc over golden and corpus files and compares its output.

Modes:
  golden FILE...   wabt-style: FILE holds the input, then the expected
                   output after a '# ---- STDOUT ----' and/or
                   '# ---- STDERR ----' marker, each line prefixed '# '.
                   The first line '# RUN: fsc ARGS' gives the arguments
                   (%s is the input file); '# EXIT: N' the exit status.
                   --rebase rewrites the expected part from the actual one
                   (as does FSPOL_UPDATE_GOLDEN=1).
  invalid FILE...  FILE starts with '# expect: LINE:COL: error: MSG' lines;
                   `fsc check` must exit 1 and print exactly those errors.
  valid FILE...    `fsc check` exits 0 with no output, and
                   `fsc fmt --check` exits 0 (the file is canonical).

Paths in output are shown as the file's basename: fsc runs in the file's
directory so goldens do not depend on where the tree is checked out.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile

MARKER = re.compile(r"^# ---- (STDOUT|STDERR) ----$")


def run(fsc, args, cwd, stdin=None):
    proc = subprocess.run([fsc] + args, cwd=cwd, input=stdin, capture_output=True, timeout=120)
    return proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode(
        "utf-8", "replace")


def split_golden(text):
    """Returns (input text, header dict, expected {stream: text})."""
    lines = text.split("\n")
    input_lines, expected, stream = [], {}, None
    for line in lines:
        m = MARKER.match(line)
        if m:
            stream = m.group(1)
            expected[stream] = []
            continue
        if stream is None:
            input_lines.append(line)
        elif line.startswith("# ") or line == "#":
            expected[stream].append(line[2:])
        elif line:
            raise ValueError("expected output lines must start with '# ': %r" % line)
    header = {}
    for line in input_lines:
        m = re.match(r"^# (RUN|EXIT): (.*)$", line)
        if m:
            header[m.group(1)] = m.group(2)
    return "\n".join(input_lines), header, {k: "\n".join(v) for k, v in expected.items()}


def golden(fsc, path, rebase):
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        text = f.read()
    source, header, expected = split_golden(text)
    if "RUN" not in header:
        return "missing '# RUN: fsc ARGS' line"
    name = os.path.basename(path)
    with tempfile.TemporaryDirectory() as work:
        with open(os.path.join(work, name), "w", encoding="utf-8", errors="surrogateescape") as f:
            f.write(source.rstrip("\n") + "\n")
        args = [a.replace("%s", name) for a in header["RUN"].split()[1:]]
        code, out, err = run(fsc, args, work)
    actual = {"STDOUT": out.rstrip("\n"), "STDERR": err.rstrip("\n")}
    want_exit = int(header.get("EXIT", "0"))
    if rebase:
        with open(path, "w", encoding="utf-8", errors="surrogateescape") as f:
            f.write(source.rstrip("\n") + "\n")
            for stream in ("STDOUT", "STDERR"):
                if actual[stream]:
                    f.write("# ---- %s ----\n" % stream)
                    for line in actual[stream].split("\n"):
                        f.write(("# " + line).rstrip() + "\n" if line else "#\n")
        return None if code == want_exit else "exit %d, header says %d" % (code, want_exit)
    problems = []
    if code != want_exit:
        problems.append("exit status %d, expected %d" % (code, want_exit))
    for stream in ("STDOUT", "STDERR"):
        want = "\n".join(l.rstrip() for l in expected.get(stream, "").split("\n")).strip("\n")
        got = "\n".join(l.rstrip() for l in actual[stream].split("\n")).strip("\n")
        if want != got:
            problems.append("%s differs:\n--- expected\n%s\n--- actual\n%s" % (stream, want, got))
    return "\n".join(problems) or None


def invalid(fsc, path):
    with open(path, "rb") as f:
        data = f.read()
    expected = set()
    for line in data.split(b"\n"):
        m = re.match(rb"^# expect: (.*)$", line)
        if m:
            expected.add(m.group(1).decode("utf-8", "replace").rstrip())
    if not expected:
        return "no '# expect: LINE:COL: error: MESSAGE' line"
    name = os.path.basename(path)
    code, _, err = run(fsc, ["check", "--color=never", name], os.path.dirname(path))
    # Errors in the file itself are listed as LINE:COL: ...; errors in
    # files it imports keep their path (relative to the file's directory).
    actual = set()
    for line in err.split("\n"):
        m = re.match(r"^(.+?):(\d+):(\d+): error: ", line)
        if not m:
            continue
        actual.add(line[len(name) + 1:].rstrip() if m.group(1) == name else line.rstrip())
    problems = []
    if code != 1:
        problems.append("exit status %d, expected 1" % code)
    for missing in sorted(expected - actual):
        problems.append("missing:    " + missing)
    for extra in sorted(actual - expected):
        problems.append("unexpected: " + extra)
    if problems:
        problems.append("--- fsc output\n" + err)
    return "\n".join(problems) or None


def valid(fsc, path):
    name = os.path.basename(path)
    cwd = os.path.dirname(path)
    code, out, err = run(fsc, ["check", "--color=never", name], cwd)
    if code != 0 or out or err:
        return "fsc check exited %d:\n%s%s" % (code, out, err)
    code, out, err = run(fsc, ["fmt", "--check", "--color=never", name], cwd)
    if code != 0:
        _, formatted, _ = run(fsc, ["fmt", name], cwd)
        return "not in canonical form (exit %d):\n%s\n--- canonical\n%s" % (code, err, formatted)
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fsc", required=True)
    parser.add_argument("--rebase", action="store_true")
    parser.add_argument("mode", choices=["golden", "invalid", "valid"])
    parser.add_argument("files", nargs="+")
    args = parser.parse_args()
    rebase = args.rebase or os.environ.get("FSPOL_UPDATE_GOLDEN") == "1"
    fsc = os.path.abspath(args.fsc)
    failed = 0
    for path in args.files:
        path = os.path.abspath(path)
        if args.mode == "golden":
            problem = golden(fsc, path, rebase)
        elif args.mode == "invalid":
            problem = invalid(fsc, path)
        else:
            problem = valid(fsc, path)
        if problem:
            failed += 1
            print("FAIL %s\n%s" % (path, problem))
        else:
            print("ok   %s" % path)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
