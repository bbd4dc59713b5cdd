#!/usr/bin/env python3
"""Policy self-tests: request -> expected verdict tables, run through the
reference evaluator (`fsc explain --json`, i.e. ir_eval).

A table file (tests/eval/NAME.eval) names its policy on a line
`policy: PATH` (relative to the table) and then has one request per line:

  EXPECT OP PATH [uid=U] [gid=G] [comm=NAME] [type=T] [to=PATH]
                 [@LINE] [lower=ROOT:PATH] [handler=H] [audit=TAG] [attr=TEXT]

EXPECT is `allow` or an errno name. `@LINE` requires that a rule written
on that line of the policy (or of a module it uses, as `@FILE:LINE`) took
part in the verdict; `lower=`, `handler=`, `audit=` and `attr=` check those
parts of an allowed verdict. `#` starts a comment; values with spaces are
written with %20.
"""

import json
import os
import subprocess
import sys
import urllib.parse


class TableError(Exception):
    pass


def read_table(table):
    """The table's policy (an absolute path) and its requests, each a dict:
    number (the line), raw, expect, op, path, args (uid, gid, comm, type,
    to: fsc explain's options) and checks (at: [@LINE...], lower, handler,
    audit, attr)."""
    base = os.path.dirname(os.path.abspath(table))
    policy = None
    rows = []
    with open(table, encoding="utf-8") as f:
        lines = f.read().split("\n")
    for number, raw in enumerate(lines, 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("policy:"):
            policy = os.path.join(base, line.split(":", 1)[1].strip())
            continue
        words = [urllib.parse.unquote(w) for w in line.split()]
        if policy is None or len(words) < 3:
            raise TableError("%s:%d: expected 'policy: PATH' first, then 'EXPECT OP PATH ...'"
                             % (table, number))
        row = {"number": number, "raw": raw.strip(), "expect": words[0], "op": words[1],
               "path": words[2], "args": {}, "checks": {}}
        for w in words[3:]:
            if w.startswith("@"):
                row["checks"].setdefault("at", []).append(w[1:])
            elif "=" in w:
                key, value = w.split("=", 1)
                if key in ("uid", "gid", "comm", "type", "to"):
                    row["args"][key] = value
                else:
                    row["checks"][key] = value
            else:
                raise TableError("%s:%d: cannot read '%s'" % (table, number, w))
        rows.append(row)
    return policy, rows


def run(fsc, table):
    failures = 0
    try:
        policy, requests = read_table(table)
    except TableError as e:
        print(e)
        return 1, 0
    rows = 0
    for request in requests:
        raw, expect, checks = request["raw"], request["expect"], request["checks"]
        args = [fsc, "explain", policy, request["path"], "--op", request["op"], "--json"]
        for key, value in request["args"].items():
            args += ["--" + key, value]
        rows += 1
        proc = subprocess.run(args, capture_output=True, timeout=60)
        problems = []
        if proc.returncode != 0:
            problems.append("fsc exited %d: %s" % (proc.returncode, proc.stderr.decode()))
        else:
            v = json.loads(proc.stdout)
            got = "allow" if v["allowed"] else v["errno_name"]
            if got != expect:
                problems.append("verdict %s (%s), expected %s" % (got, v["reason"], expect))
            places = ["%s:%d" % (r["file"], r["line"]) for r in v["rules"]]
            for at in checks.get("at", []):
                # "@38": line 38 of the policy; "@FILE:LINE": a module's line.
                wanted = at if ":" in at else "%s:%s" % (policy, at)
                if not any(p == wanted or p.endswith("/" + wanted) for p in places):
                    problems.append("no rule at %s took part (rules: %s)" % (at, ", ".join(places) or "none"))
            if "lower" in checks and "%s:%s" % (v["lower_root"], v["lower_path"]) != checks["lower"]:
                problems.append("lower %s:%s, expected %s" % (v["lower_root"], v["lower_path"], checks["lower"]))
            if "handler" in checks and v["handler"] != checks["handler"]:
                problems.append("handler '%s', expected '%s'" % (v["handler"], checks["handler"]))
            if "audit" in checks and checks["audit"] not in v["audit"]:
                problems.append("audit tags %s, expected %s" % (v["audit"], checks["audit"]))
            if "attr" in checks and v["attr"] != checks["attr"]:
                problems.append("attr '%s', expected '%s'" % (v["attr"], checks["attr"]))
        if problems:
            failures += 1
            print("FAIL %s:%d: %s" % (table, request["number"], raw))
            for p in problems:
                print("     " + p)
    return failures, rows


def main():
    fsc = sys.argv[1]
    total_failures = total_rows = 0
    for table in sys.argv[2:]:
        failures, rows = run(fsc, table)
        total_failures += failures
        total_rows += rows
    print("%d requests, %d failed" % (total_rows, total_failures))
    return 1 if total_failures or total_rows == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
