#!/usr/bin/env python3
"""End-to-end tests of the fsc command line: exit codes, streams, stdin,
fmt modes, and hostile inputs (huge, deep, binary, unreadable)."""

import argparse
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest

FSC = None
SOURCE_DIR = None


def fsc(*args, stdin=None, cwd=None, env=None, timeout=120):
    proc = subprocess.run([FSC] + list(args), input=stdin, capture_output=True, cwd=cwd,
                          env=env, timeout=timeout)
    return proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode(
        "utf-8", "replace")


class Cli(unittest.TestCase):

    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.tmp = self.dir.name

    def tearDown(self):
        self.dir.cleanup()

    def write(self, name, data):
        path = os.path.join(self.tmp, name)
        with open(path, "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode())
        return path

    def test_help_and_version(self):
        code, out, err = fsc("--help")
        self.assertEqual(code, 0)
        self.assertIn("usage: fsc <command>", out)
        self.assertEqual(err, "")
        code, out, _ = fsc("--version")
        self.assertEqual(code, 0)
        self.assertRegex(out, r"^fsc \(fspol\) \d+\.\d+\.\d+\n$")

    def test_usage_errors_exit_2(self):
        for args, message in [((), "no command given"), (("check",), "no input files"),
                              (("check", "--bogus", "x"), "unknown option '--bogus'"),
                              (("frobnicate",), "unknown command 'frobnicate'")]:
            code, out, err = fsc(*args)
            self.assertEqual(code, 2, args)
            self.assertIn(message, err)
            self.assertIn("fsc --help", err)
            self.assertEqual(out, "")

    def test_io_errors_exit_3(self):
        code, _, err = fsc("check", os.path.join(self.tmp, "missing.fspol"))
        self.assertEqual(code, 3)
        self.assertIn("missing.fspol: cannot open: No such file or directory", err)
        code, _, err = fsc("check", self.tmp)
        self.assertEqual(code, 3)
        self.assertIn("is a directory, not a policy file", err)
        big = os.path.join(self.tmp, "big.fspol")
        with open(big, "wb") as f:
            f.truncate(65 << 20)
        code, _, err = fsc("check", big)
        self.assertEqual(code, 3)
        self.assertIn("file is larger than 64 MiB", err)

    def test_module_where_a_policy_is_needed(self):
        mod = self.write("m.fspol", 'module m {\n  hide "/x";\n}\n')
        for verb in ("compile", "explain"):
            args = (verb, mod) if verb == "compile" else (verb, mod, "/x", "--op", "read")
            code, out, err = fsc(*args)
            self.assertEqual(code, 1, verb)
            self.assertIn(f"m.fspol:1:1: error: 'm' is a module, not a policy; {verb} a policy "
                          "that imports and uses it\nmodule m {\n^~~~~~~~\n", err)
            self.assertEqual(out, "")

    def test_explain_batch(self):
        pol = self.write("p.fspol", 'policy p {\n  hide "/s" unless uid == 1000;\n'
                         '  deny write, rename on "/ro/*" errno EROFS;\n}\n')
        requests = ("read /s uid=1000\n# a comment\n\nread /s\nwrite /ro/a%20b comm=my%20app\n"
                    "rename /x to=/ro/y type=dir\nfrobnicate /x\nread relative\n")
        code, out, err = fsc("explain", pol, "-", "--json", "--gid", "7", stdin=requests.encode())
        self.assertEqual((code, err), (2, ""))
        answers = [json.loads(line) for line in out.splitlines()]
        self.assertEqual(len(answers), 6)  # one per request, none for comments and blanks
        self.assertEqual([a.get("errno_name") for a in answers[:4]], ["", "ENOENT", "EROFS", "EROFS"])
        self.assertEqual((answers[0]["uid"], answers[0]["gid"]), (1000, 7))  # --gid is the default
        self.assertEqual((answers[2]["path"], answers[2]["comm"]), ("/ro/a b", "my app"))
        self.assertEqual((answers[3]["to"], answers[3]["type"]), ("/ro/y", "dir"))
        self.assertIn("<stdin>:7: unknown operation 'frobnicate'", answers[4]["error"])
        self.assertIn("<stdin>:8: ", answers[5]["error"])
        # Each answer is flushed at once: fsc works as a coprocess.
        proc = subprocess.Popen([FSC, "explain", pol, "-", "--json"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True)
        try:
            for uid, want in (("1000", True), ("0", False)):
                proc.stdin.write(f"stat /s uid={uid}\n")
                proc.stdin.flush()
                self.assertEqual(json.loads(proc.stdout.readline())["allowed"], want)
        finally:
            proc.stdin.close()
            self.assertEqual(proc.wait(timeout=30), 0)
        code, out, err = fsc("explain", pol, "-", stdin=b"read /s\n")
        self.assertEqual(code, 0)
        self.assertIn("verdict:  denied: ENOENT", out)
        code, _, err = fsc("explain", "-", "-")
        self.assertEqual(code, 2)
        self.assertIn("give the policy as a file", err)

    def test_compile_output_replaces_atomically(self):
        pol = self.write("p.fspol", "policy p { }\n")
        out = os.path.join(self.tmp, "new.ir")
        old_mask = os.umask(0o027)
        try:
            code, _, err = fsc("compile", pol, "-o", out)
        finally:
            os.umask(old_mask)
        self.assertEqual((code, err), (0, ""))
        self.assertEqual(stat.S_IMODE(os.stat(out).st_mode), 0o640)
        self.assertIn("policy p", open(out).read())
        existing = self.write("old.ir", "old contents")
        os.chmod(existing, 0o600)
        inode = os.stat(existing).st_ino
        code, _, err = fsc("compile", pol, "-o", existing)
        self.assertEqual((code, err), (0, ""))
        self.assertEqual(stat.S_IMODE(os.stat(existing).st_mode), 0o600)
        self.assertNotEqual(os.stat(existing).st_ino, inode)  # replaced, not rewritten
        self.assertIn("policy p", open(existing).read())

    def test_io_error_wins_over_policy_errors(self):
        bad = self.write("bad.fspol", "policy p { hid; }")
        code, _, err = fsc("check", bad, os.path.join(self.tmp, "nope"))
        self.assertEqual(code, 3)
        self.assertIn("1 error generated.", err)

    def test_check_reports_all_errors_sorted(self):
        bad = self.write("bad.fspol", 'policy p {\n  hide "x";\n  deny wrte on "/y";\n}\n')
        code, out, err = fsc("check", "bad.fspol", cwd=self.tmp)
        self.assertEqual(code, 1)
        self.assertEqual(out, "")
        lines = [l for l in err.split("\n") if ": error: " in l]
        self.assertEqual(lines, [
            "bad.fspol:2:9: error: selector must be an absolute path starting with '/'",
            "bad.fspol:3:8: error: unknown operation 'wrte'"])
        self.assertTrue(err.endswith("2 errors generated.\n"))

    def test_several_files_and_stdin(self):
        good = self.write("good.fspol", 'policy p { hide "/x"; }\n')
        code, _, err = fsc("check", good, "-", stdin=b"policy q { deny wrte on \"/x\"; }")
        self.assertEqual(code, 1)
        self.assertIn("<stdin>:1:17: error: unknown operation 'wrte'", err)
        code, out, _ = fsc("fmt", "-", stdin=b"policy q{hide \"/x\";}")
        self.assertEqual((code, out), (0, 'policy q {\n  hide "/x";\n}\n'))

    def test_fmt_check_and_in_place(self):
        messy = self.write("messy.fspol", "policy p{hide \"/x\";}")
        os.chmod(messy, 0o640)
        code, out, err = fsc("fmt", "--check", messy)
        self.assertEqual(code, 1)
        self.assertEqual(out, "")
        self.assertIn("messy.fspol: not in canonical form", err)
        code, _, _ = fsc("fmt", "-i", messy)
        self.assertEqual(code, 0)
        with open(messy) as f:
            self.assertEqual(f.read(), 'policy p {\n  hide "/x";\n}\n')
        self.assertEqual(stat.S_IMODE(os.stat(messy).st_mode), 0o640)
        self.assertEqual(fsc("fmt", "--check", messy)[0], 0)
        self.assertEqual(sorted(os.listdir(self.tmp)), ["messy.fspol"])  # no temp files left

    def test_fmt_of_a_broken_file_changes_nothing(self):
        text = "policy p {\n  hide \"x\";\n}\n"
        broken = self.write("broken.fspol", text)
        code, out, err = fsc("fmt", "-i", broken)
        self.assertEqual(code, 1)
        self.assertIn("error:", err)
        with open(broken) as f:
            self.assertEqual(f.read(), text)
        code, out, _ = fsc("fmt", broken)
        self.assertEqual((code, out), (1, ""))

    def test_color(self):
        bad = self.write("bad.fspol", "policy p { hid; }")
        self.assertIn("\033[", fsc("check", "--color=always", bad)[2])
        self.assertNotIn("\033[", fsc("check", bad)[2])  # stderr is a pipe

    def test_diagnostics_as_json(self):
        bad = self.write("bad.fspol", 'policy p {\n  hide "/a"\n}\n')
        warn = self.write("warn.fspol", 'policy w {\n  hide "/a";\n  hide "/a/b";\n}\n')
        code, out, err = fsc("check", "--diagnostics-format=json", "--color=always", bad, warn,
                             os.path.join(self.tmp, "missing.fspol"))
        self.assertEqual((code, out), (3, ""))
        doc = json.loads(err)  # one document, no colour, nothing else
        self.assertEqual((doc["errors"], doc["warnings"], doc["truncated"]), (2, 1, False))
        by_message = {d["message"]: d for d in doc["diagnostics"]}
        syntax = by_message["expected ';' after the hide rule"]
        self.assertEqual((syntax["severity"], syntax["file"], syntax["line"], syntax["column"]),
                         ("error", bad, 2, 12))
        self.assertTrue(any(d["file"] is None and "missing.fspol" in d["message"]
                            for d in doc["diagnostics"]), "the I/O error is a diagnostic too")
        warning = [d for d in doc["diagnostics"] if d["severity"] == "warning"][0]
        self.assertEqual((warning["file"], warning["line"], warning["flag"]), (warn, 3, "-Wunreachable"))
        self.assertTrue(warning["notes"] and warning["notes"][0]["line"] == 3)
        code, _, err = fsc("check", "--diagnostics-format=json", warn)
        self.assertEqual(code, 0)
        self.assertEqual(json.loads(err)["warnings"], 1)
        code, _, err = fsc("check", "--diagnostics-format=xml", warn)
        self.assertEqual(code, 2)
        self.assertIn("--diagnostics-format takes text or json, not 'xml'", err)

    def test_ten_megabyte_policy(self):
        rule = '  deny write, create on "/data/{}/**" errno EPERM when uid in {{1000..1999}};\n'
        body = []
        size = 0
        i = 0
        while size < (10 << 20):
            body.append(rule.format(i))
            size += len(body[-1])
            i += 1
        text = "policy huge {\n" + "".join(body) + "}\n"
        path = self.write("huge.fspol", text)
        # Parsing alone (fmt): the front end's speed on 10 MiB.
        start = time.monotonic()
        code, out, err = fsc("fmt", path, timeout=300)
        elapsed = time.monotonic() - start
        self.assertEqual((code, err), (0, ""))
        self.assertEqual(out, text)
        print("\n  10 MiB policy ({} rules) parsed and printed in {:.2f} s ({:.1f} MB/s)".format(
            i, elapsed, size / elapsed / 1e6), file=sys.stderr)
        # The whole pipeline (automata, IR, verification) on a fifth of it.
        fifth = self.write("fifth.fspol", "policy fifth {\n" + "".join(body[:len(body) // 5]) + "}\n")
        start = time.monotonic()
        code, out, err = fsc("check", fifth, timeout=300)
        self.assertEqual((code, out, err), (0, "", ""))
        print("  {} rules checked in {:.2f} s".format(len(body) // 5, time.monotonic() - start),
              file=sys.stderr)

    def test_deep_nesting(self):
        deep = "policy p { hide \"/x\" when " + "(" * 10000 + "uid == 0" + ")" * 10000 + "; }"
        code, _, err = fsc("check", self.write("deep.fspol", deep))
        self.assertEqual(code, 1)
        self.assertIn("condition is nested too deeply (limit 200)", err)

    def test_binary_and_encoding_garbage(self):
        code, _, err = fsc("check", self.write("bin.fspol", bytes(range(256)) * 64))
        self.assertEqual(code, 1)
        self.assertIn("null byte in policy file; is this a binary file?", err)
        code, _, err = fsc("check", self.write("latin1.fspol", b'policy p { hide "/caf\xe9"; }'))
        self.assertEqual(code, 1)
        self.assertIn("invalid UTF-8 byte 0xe9 in string", err)
        code, _, err = fsc("check", self.write("open.fspol", b"policy p { /* never closed"))
        self.assertEqual(code, 1)
        self.assertIn("unterminated /* comment", err)
        code, _, err = fsc("check", self.write("str.fspol", b'policy p { hide "/x'))
        self.assertEqual(code, 1)
        self.assertIn("unterminated string", err)

    def test_fifo_without_writer_does_not_hang(self):
        fifo = os.path.join(self.tmp, "pipe.fspol")
        os.mkfifo(fifo)
        code, _, err = fsc("check", fifo, timeout=20)
        self.assertEqual(code, 1)
        self.assertIn("the file has none", err)

    def test_examples_check_clean(self):
        examples = os.path.join(SOURCE_DIR, "examples")
        files = sorted(f for f in os.listdir(examples) if f.endswith(".fspol"))
        self.assertGreaterEqual(len(files), 7)
        code, out, err = fsc("check", *files, cwd=examples)
        self.assertEqual((code, out, err), (0, "", ""))

    def test_compile_name_maps_per_target(self):
        pol = self.write("n.fspol", 'policy n {\n  rename "/d/**" {\n    suffix ".a" -> ".b";\n'
                         '    suffix ".b" -> ".a";\n  }\n}\n')
        code, out, err = fsc("compile", "--emit=plan", pol)
        self.assertEqual((code, err), (0, ""))
        self.assertIn("looks up the lower name (", out)
        self.assertIn("names here are mapped: the daemon makes them under their lower names", out)
        self.assertNotIn("lookup prefilter: daemon", out)
        code, out, err = fsc("compile", "--emit=plan", "--json", pol)
        self.assertEqual((code, err), (0, ""))
        self.assertIn('"maps_names": true', out)
        # The RFC shows a lookup postfilter the name the prefilter wrote.
        code, out, err = fsc("compile", "--emit=plan", "--target=rfc-v3", pol)
        self.assertEqual((code, err), (0, ""))
        self.assertIn("name maps choose the lower name in the daemon (rfc-v3", out)
        self.assertNotIn("looks up the lower name", out)
        # A map for files only: one lower name per type.
        typed = self.write("t.fspol", 'policy t {\n  rename file "/d/**" {\n    suffix ".a" -> ".b";\n'
                           '    suffix ".b" -> ".a";\n  }\n}\n')
        code, out, err = fsc("compile", "--emit=plan", typed)
        self.assertEqual((code, err), (0, ""))
        self.assertIn("name maps that depend on the file type choose the lower name in the daemon", out)

    def test_compile_artefacts_and_targets(self):
        pol = self.write("p.fspol", 'policy p {\n  hide "/x";\n  deny write on "/y" when uid != 0;\n}\n')
        code, out, err = fsc("compile", "--emit=plan", "--target=rfc-v3", pol)
        self.assertEqual((code, err), (0, ""))
        self.assertIn("for rfc-v3", out)
        self.assertIn("p.fspol:3 deny", out)  # a uid condition: the daemon's on rfc-v3
        self.assertIn("bpf_get_current_uid_gid", out)
        self.assertIn("daemon: needed", out)
        code, out, err = fsc("compile", "--emit=plan", "--json", pol)
        self.assertEqual((code, err), (0, ""))
        self.assertIn('"target": "fspol-6.1"', out)
        self.assertIn('"needs_daemon": true', out)
        # Nothing for the daemon: the view is mounted with no_daemon.
        allow = self.write("a.fspol", "policy a {\n  option fsname = \"a\";\n}\n")
        code, out, err = fsc("compile", "--emit=plan", allow)
        self.assertEqual((code, err), (0, ""))
        self.assertIn("daemon: not needed (fsrun mounts the view with no_daemon)", out)
        code, _, err = fsc("compile", "--target=linux-9", pol)
        self.assertEqual(code, 2)
        self.assertIn("--target takes rfc-v3, fspol-6.1, not 'linux-9'", err)
        code, _, err = fsc("compile", "--emit=ir,bpf-c", "-o", os.path.join(self.tmp, "f.c"), pol)
        self.assertEqual(code, 3)
        self.assertIn("-o must name an existing directory for several artefacts", err)
        code, _, err = fsc("compile", "--emit=elf", pol)
        self.assertEqual(code, 2)
        out_dir = os.path.join(self.tmp, "out")
        os.mkdir(out_dir)
        code, _, err = fsc("compile", "-o", out_dir, pol)
        self.assertEqual((code, err), (0, ""))
        self.assertEqual(sorted(os.listdir(out_dir)),
                         ["fsp_harness.h", "fsp_machine.h", "fuse_bpf_abi.h", "fuse_bpf_ops.def", "p.bpf.c",
                          "p.bpf.o", "p.harness.bpf.c", "p.harness.bpf.o", "p.ir", "p.plan", "p.skel.h",
                          "p_stub.cc", "p_stub.h"])
        code, _, err = fsc("compile", "--emit=stub", pol)
        self.assertEqual(code, 3)
        self.assertIn("--emit=stub writes two files (p_stub.h and p_stub.cc): -o must name a directory",
                      err)

    @unittest.skipUnless(shutil.which("gcc"), "needs gcc")
    def test_skeleton_builds_and_opens(self):
        pol = self.write("skel.fspol", 'policy skel {\n  hide "/x";\n  deny write on "/y/**";\n}\n')
        header = os.path.join(self.tmp, "skel.skel.h")
        code, _, err = fsc("compile", "--emit=skeleton", "-o", header, pol)
        self.assertEqual((code, err), (0, ""))
        main = self.write("main.c", textwrap.dedent("""
            #include <stdio.h>
            #include <string.h>
            #include "skel.skel.h"
            int main(void)
            {
                struct fsp_skel s = {0};
                struct bpf_map *map;
                int maps = 0, named = 0, i;

                fsp_skel__open_and_load(&s);  /* the load needs a fuse-bpf kernel */
                if (!s.obj)
                    return 1;
                bpf_object__for_each_map(map, s.obj) {
                    if (bpf_map__type(map) != BPF_MAP_TYPE_STRUCT_OPS)
                        continue;
                    maps++;
                }
                for (i = 0; i < FSP_SKEL_SETS; i++)
                    named += strncmp(fsp_skel_set_names[i], "fsp", 3) == 0;
                printf("%d %d %d\\n", maps, FSP_SKEL_SETS, named);
                fsp_skel__destroy(&s);
                return 0;
            }
            """))
        exe = os.path.join(self.tmp, "main")
        built = subprocess.run(["gcc", "-Wall", "-Werror", "-o", exe, main, "-lbpf"],
                               capture_output=True, text=True)
        self.assertEqual(built.returncode, 0, built.stderr)
        run = subprocess.run([exe], capture_output=True, text=True)
        self.assertEqual(run.returncode, 0, run.stderr)
        maps, sets, named = map(int, run.stdout.split())
        self.assertGreater(sets, 0)
        self.assertEqual((maps, named), (sets, sets))

    def test_compile_refuses_what_fuse_bpf_cannot_do(self):
        pol = self.write("lock.fspol", 'policy l {\n  deny lock on "/db/*.lock" errno ENOLCK;\n}\n')
        code, _, err = fsc("compile", "--emit=plan", pol)
        self.assertEqual(code, 1)
        self.assertIn("lock.fspol:2:3: error: fuse-bpf cannot deny 'lock' alone", err)

    @unittest.skipUnless(os.geteuid() == 0 and shutil.which("setpriv"), "needs root and setpriv")
    def test_verify_without_bpf_permission(self):
        pol = self.write("p.fspol", 'policy p {\n  hide "/x";\n}\n')
        os.chmod(self.tmp, 0o755)
        os.chmod(pol, 0o644)
        proc = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                               FSC, "verify", pol], capture_output=True, text=True, timeout=120)
        self.assertEqual(proc.returncode, 4, proc.stderr)
        self.assertIn("verify needs the permission to load BPF programs", proc.stderr)


def main():
    global FSC, SOURCE_DIR
    parser = argparse.ArgumentParser()
    parser.add_argument("--fsc", required=True)
    parser.add_argument("--source-dir", required=True)
    args, rest = parser.parse_known_args()
    FSC = os.path.abspath(args.fsc)
    SOURCE_DIR = os.path.abspath(args.source_dir)
    unittest.main(argv=[sys.argv[0], "-v"] + rest)


if __name__ == "__main__":
    main()
