#!/usr/bin/env python3
"""fsrun in fuse-bpf mode, in the kernel tier's VM: every policy self-test
table (tests/eval/*.eval) done for real in both modes, compared with the
table and with each other.

Usage: fuse_bpf_mode_test.py FSC FSRUN FSOP

The rows are those tests/runtime/eval_mount_test.py runs on the host, over
the same trees (made where `fsc explain` places each row's objects). Here
the host compiles each policy's programs (fsc compile --target=fspol-6.1
--emit=bpf-obj) and writes one script for the VM that, per table, mounts
the view with `fsrun --mode fuse-bpf -o bpf=...`, does every row as its
caller with fsop (uid, gid, process name), records `fsrun status --json`
(which requests reached the daemon) and unmounts; then does the same rows
with `--mode daemon`. Every answer must be the row's verdict in both modes.
Then the differential part: random policies (tests/tools/random_policy.py)
and random requests by random callers, done in both modes over the same
trees: every answer of fuse-bpf mode must be daemon mode's (which
tests/runtime/differential_test.py holds against ir_eval on the host).
FSPOL_DIFF_POLICIES (default 8) and FSPOL_DIFF_OPS (default 40) scale it.

Exit 77 when the VM cannot run (no qemu, kernel tier not built)."""
import json
import os
import random
import shlex
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(TOP, "tests", "tools"))
sys.path.insert(0, os.path.join(TOP, "tests", "runtime"))
from run_eval import read_table  # noqa: E402
from eval_mount_test import Tree, declared_roots  # noqa: E402
from random_policy import LAYER_DIRS, NAMES, random_layers_policy, random_policy  # noqa: E402

MODES = ("fuse-bpf", "daemon")
CALLERS = [(0, 0), (1000, 1000), (1005, 7), (2000, 2000), (1, 1)]
OPS = ["lookup", "stat", "readdir", "read", "write", "exec", "create", "delete", "rename",
       "link", "chmod", "chown", "truncate", "utimes", "xattr_read", "xattr_write"]


LAYER_NAMES = ["x.log", "x.txt", "notes.txt", "c1", "C1", "X.LOG", "sub"]


# fuse_ops callbacks by the FUSE opcode name `fsrun status` counts them under.
CALLBACK_OPCODE = {
    "create_open": "create", "dir_fsync": "fsyncdir", "read_iter": "read", "write_iter": "write",
    "file_fallocate": "fallocate", "get_link": "readlink"}
BOOKKEEPING = {"forget", "batch_forget", "interrupt", "destroy"}


def daemon_requests(fsc, policy):
    """What the plan lets reach the daemon: the opcodes of its prefilter and
    postfilter requests, and whether any request is the daemon's whole
    (then ordinary requests on its nodes follow)."""
    plan = json.loads(subprocess.run([fsc, "compile", "--emit=plan", "--json", policy],
                                     capture_output=True, text=True, check=True).stdout)
    pre, post, whole = set(), set(), False
    for s in plan["sets"]:
        if s["tracked"]:
            post.add("lookup")
        for f in s["filters"]:
            op = CALLBACK_OPCODE.get(f["callback"], f["callback"])
            if f["where"] == "daemon":
                if f["stage"] == "post":
                    post.add(op)
                elif f["result"] == "decides":
                    pre.add(op)
                else:
                    whole = True
            else:
                asks = f.get("asks", [])
                if "daemon postfilter" in asks:
                    post.add(op)
                whole = whole or "daemon" in asks
    return pre, post, whole


def random_rows(rng, count, layers):
    """Requests in read_table's form, without a verdict: over NAMES, or
    for a random_layers_policy under its directories."""
    rows = []
    for number in range(1, count + 1):
        depth = rng.randint(1, 3)
        if layers:
            path = "/" + "/".join([rng.choice(LAYER_DIRS)] +
                                  [rng.choice(LAYER_NAMES) for _ in range(depth - 1)])
        else:
            path = "/" + "/".join(rng.choice(NAMES) for _ in range(depth))
        op = rng.choice(OPS)
        type_ = rng.choice(["file", "file", "dir", "symlink"])
        if op == "readdir":
            type_ = "dir"
        uid, gid = rng.choice(CALLERS)
        args = {"uid": str(uid), "gid": str(gid), "type": type_}
        if op in ("rename", "link"):
            args["to"] = "/" + "/".join(rng.choice(NAMES) for _ in range(rng.randint(1, 2))) + "_n"
        rows.append({"number": number, "raw": f"{op} {path} {args}", "expect": None, "op": op,
                     "path": path, "args": args, "checks": {}})
    return rows

GUEST_PRELUDE = r'''#!/bin/sh
echo  # the console's last line has no newline yet
export PATH=$PATH:/usr/bin
mkdir -p /run /w
# mk TYPE PATH: the lower object, world-writable (as eval_mount_test.py's Tree)
mk() {
	if [ -L "$2" ]; then cur=symlink; elif [ -d "$2" ]; then cur=dir
	elif [ -e "$2" ]; then cur=file; else cur=none; fi
	want=$1; [ "$want" = dir ] || [ "$want" = symlink ] || want=file
	[ "$cur" = "$want" ] && return 0
	[ "$cur" = none ] || rm -rf "$2"
	mkdir -p "$(dirname "$2")"
	case $want in
	dir) mkdir "$2"; chmod 777 "$2" ;;
	symlink) ln -s target "$2" ;;
	*) echo "data password=hunter2" > "$2"; chmod 777 "$2" ;;  # a secret for handlers
	esac
}
empty() { rm -rf "$1"/* "$1"/.[!.]* 2>/dev/null; true; }
row() { printf 'ROW %s %s %s\n' "$1" "$2" "$(fsop "$3" "$4" "$5" "$6" "$7" "$8" "$9")"; }
'''


class ShellTree(Tree):
    """eval_mount_test.py's Tree, writing the guest's commands instead of
    making the objects (paths under the guest's roots)."""

    def __init__(self, fsc, policy, host_roots, guest_roots, out):
        super().__init__(fsc, policy, host_roots)
        self.guest = {host_roots[r]: guest_roots[r] for r in host_roots}
        self.out = out

    def _g(self, full):
        for host, guest in self.guest.items():
            if full == host or full.startswith(host + "/"):
                return guest + full[len(host):]
        raise ValueError(full)

    def make(self, full, type_):
        self.out.append(f"mk {type_} {shlex.quote(self._g(full))}")

    @staticmethod
    def remove(full):
        raise AssertionError("use _remove")

    def _remove(self, full):
        self.out.append(f"rm -rf {shlex.quote(self._g(full))}")

    def prepare(self, row, type_):
        path, op = row["path"], row["op"]
        self.ancestors(path)
        root, rel = self.place(path, type_)
        full = os.path.join(root, rel)
        if op == "create":
            self._remove(full)
        else:
            self.make(full, type_)
            if op in ("chmod", "chown"):
                uid, gid = row["args"].get("uid", "0"), row["args"].get("gid", "0")
                self.out.append(f"chown -h {uid}:{gid} {shlex.quote(self._g(full))}")
            if op == "delete" and type_ == "dir":
                self.out.append(f"empty {shlex.quote(self._g(full))}")
        to = row["args"].get("to")
        if to:
            self.ancestors(to)
            troot, trel = self.place(to, type_)
            self._remove(os.path.join(troot, trel))


def main():
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    fsc, fsrun, fsop = sys.argv[1:]
    work = tempfile.mkdtemp(prefix="fspol-fuse-bpf-mode-")
    adds = ["--add-exe", f"{fsrun}:/usr/bin/fsrun", "--add-exe", f"{fsop}:/usr/bin/fsop"]
    stdlib = os.path.join(TOP, "stdlib", "policies")
    for f in sorted(os.listdir(stdlib)):
        adds += ["--add", f"{os.path.join(stdlib, f)}:/p/stdlib/{f}"]
    script = [GUEST_PRELUDE]
    expected = {}  # (table, line) -> (verdict or None, the row)
    suites = []
    tables = os.path.join(TOP, "tests", "eval")
    for table in sorted(os.listdir(tables)):
        if table.endswith(".eval"):
            suites.append((table[:-len(".eval")], *read_table(os.path.join(tables, table))))
    rng = random.Random(int(os.environ.get("FSPOL_DIFF_SEED", "14")))
    for i in range(int(os.environ.get("FSPOL_DIFF_POLICIES", "8"))):
        # Every other one has a rule of every layer (names, casefold,
        # redirects, attributes, a handler).
        layers = i % 2 == 1
        policy = os.path.join(work, f"random-{i}.fspol")
        while True:  # a random policy may have errors (fsc check): draw again
            with open(policy, "w") as f:
                f.write(random_layers_policy(rng, i)[0] if layers else random_policy(rng, i))
            if subprocess.run([fsc, "check", policy], capture_output=True).returncode == 0:
                break
        suites.append((f"random-{i}", policy,
                       random_rows(rng, int(os.environ.get("FSPOL_DIFF_OPS", "40")), layers)))
    policies = {name: policy for name, policy, _ in suites}
    for name, policy, rows in suites:
        obj = os.path.join(work, name + ".bpf.o")
        subprocess.run([fsc, "compile", "--target=fspol-6.1", "--emit=bpf-obj", "-o", obj, policy],
                       check=True)
        adds += ["--add", f"{obj}:/p/{name}.bpf.o", "--add", f"{policy}:/p/{name}.fspol"]
        roots = ["main"] + declared_roots(policy)
        for mode in MODES:
            g = {r: f"/w/{mode}/{name}/{r}" for r in roots}
            host = {r: os.path.join(work, "h", mode, name, r) for r in roots}
            mnt = f"/w/{mode}/{name}/mnt"
            script.append(f"mkdir -p {mnt} " + " ".join(g.values()) + " && chmod 777 " +
                          " ".join(g.values()))
            options = ["allow_other", "default_permissions=false", "cache=never",
                       f"audit_log=/w/{mode}-{name}-audit.log", f"mode={mode}"]
            if mode == "fuse-bpf":
                options.append(f"bpf=/p/{name}.bpf.o")
            options += [f"lower.{r}={g[r]}" for r in roots if r != "main"]
            script.append(f"fsrun mount --stdlib=/p/stdlib -o {','.join(options)} "
                          f"/p/{name}.fspol {g['main']} {mnt} || echo 'MOUNTFAIL {mode} {name}'")
            out = []
            tree = ShellTree(fsc, policy, host, g, out)
            for row in rows:
                args = row["args"]
                type_ = "dir" if row["path"] == "/" else args.get("type", "file")
                tree.prepare(row, type_)
                fsop_args = [args.get("uid", "0"), args.get("gid", "0"), args.get("comm") or "-",
                             row["op"], type_, mnt + row["path"]]
                if "to" in args:
                    fsop_args.append(mnt + args["to"])
                # Random requests also show what an allowed one saw.
                show = "FSOP_SHOW=1 " if row["expect"] is None else ""
                out.append(f"{show}row {mode} {name}:{row['number']} " +
                           " ".join(shlex.quote(a) for a in fsop_args))
                verdict = row["expect"]
                expected[(name, row["number"])] = ("ok" if verdict == "allow" else verdict,
                                                   row["raw"])
            script += out
            script.append(f"echo \"STATUS {mode} {name} $(fsrun status --json {mnt})\"")
            script.append(f"fsrun umount {mnt} || echo 'UMOUNTFAIL {mode} {name}'")
    script.append("exit 0")
    guest = os.path.join(work, "guest.sh")
    with open(guest, "w") as f:
        f.write("\n".join(script) + "\n")
    os.chmod(guest, 0o755)
    adds += ["--add", f"{guest}:/p/guest.sh"]
    r = subprocess.run([os.path.join(TOP, "kernel", "run-vm.sh"), "--timeout", "900", *adds, "--",
                        "/p/guest.sh"], capture_output=True, text=True)
    log = os.path.join(work, "guest.log")
    with open(log, "w") as f:
        f.write(r.stdout + r.stderr)
    if r.returncode == 77:
        print(r.stderr.strip())
        sys.exit(77)
    got = {}
    failures = []
    statuses = {}
    for line in r.stdout.splitlines():
        if line.startswith("ROW "):
            _, mode, where, result = line.split(" ", 3)
            name, number = where.split(":")
            got[(mode, name, int(number))] = result
        elif line.startswith("STATUS "):
            _, mode, name, text = line.split(" ", 3)
            statuses[(mode, name)] = text
        elif "FAIL " in line and line.split()[0].endswith("FAIL"):
            failures.append(line)
    if r.returncode != 0:
        failures.append(f"the VM run failed (exit {r.returncode}): {r.stderr.strip()[-2000:]}")
    differential = 0
    differences = {}  # docs/runtime.md, "fuse-bpf mode": the kinds and their counts
    for (name, number), (want, raw) in sorted(expected.items()):
        answers = {mode: got.get((mode, name, number), "(no answer)") for mode in MODES}
        if want is None:  # a random request: the modes must agree
            differential += 1
            # The documented differences (docs/runtime.md, "fuse-bpf
            # mode"), each counted and shown.
            op = raw.split()[0]
            documented = None
            if (answers["fuse-bpf"] == "EXDEV" and answers["daemon"] not in ("EXDEV", "(no answer)")
                    and op in ("rename", "link")):
                documented = "a node the daemon does not know"
            elif (answers["fuse-bpf"] == "EACCES" and answers["daemon"].startswith("E")
                  and answers["daemon"] != "EACCES"):
                documented = "lower permissions before the policy"
            if documented:
                differences[documented] = differences.get(documented, 0) + 1
                print(f"  documented difference ({documented}): {name}:{number}: {raw}: "
                      f"fuse-bpf {answers['fuse-bpf']}, daemon {answers['daemon']}")
                continue
            if answers["fuse-bpf"] != answers["daemon"] or answers["daemon"] == "(no answer)":
                failures.append(f"{name}:{number}: {raw}: fuse-bpf {answers['fuse-bpf']}, "
                                f"daemon {answers['daemon']}")
            continue
        for mode, have in answers.items():
            if have != want:
                failures.append(f"{mode}: {name}.eval:{number}: {raw}: got {have}, want {want}")
    print(f"{len(expected) - differential} table rows and {differential} random requests, each "
          f"in {len(MODES)} modes: {len(got)} answers; documented differences: "
          + (", ".join(f"{k} {v}" for k, v in sorted(differences.items())) or "none"))
    for name in sorted({n for (n, _) in expected}):
        if name.startswith("random-") and not os.environ.get("FSPOL_DIFF_VERBOSE"):
            continue
        text = statuses.get(("fuse-bpf", name))
        if not text:
            failures.append(f"fuse-bpf: {name}: no status")
            continue
        try:
            st = json.loads(text)
        except json.JSONDecodeError:
            failures.append(f"fuse-bpf: {name}: status is not JSON: {text[:200]}")
            continue
        if not st.get("fuse_bpf"):
            failures.append(f"fuse-bpf: {name}: mounted in another mode: {st.get('mode')}")
            continue
        by_op = st["requests"]["by_opcode"]
        pre, post, whole = daemon_requests(fsc, policies[name])
        for request in by_op:
            op, _, stage = request.partition(" ")
            planned = (pre if stage == "prefilter" else post if stage == "postfilter"
                       else BOOKKEEPING if not whole else {op})
            if op not in planned:
                failures.append(f"fuse-bpf: {name}: the daemon got '{request}', which the plan "
                                "keeps in the kernel")
        daemon = next((json.loads(t) for (m, n), t in statuses.items()
                       if m == "daemon" and n == name), None)
        total = daemon["requests"]["total"] if daemon else 0
        print(f"  {name}: {len(st['fuse_bpf']['sets'])} program sets; requests reaching the "
              f"daemon: {st['requests']['total']} in fuse-bpf mode, {total} in daemon mode; "
              + ", ".join(f"{k} {v}" for k, v in sorted(by_op.items())))
    for f in failures:
        print("FAIL", f)
    if failures:
        print(f"the guest's output: {log}")
        sys.exit(1)
    print("ok")


if __name__ == "__main__":
    main()
