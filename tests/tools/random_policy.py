"""Random policies for the differential tests (tests/tools/verify_test.py,
tests/runtime/differential_test.py): visibility and access rules over a
small set of names, with caller conditions."""

NAMES = ["a", "b", "data", "x.log", "secret", "tmp", ".cache", "c1"]


def random_policy(rng, index):
    """A policy of visibility and access rules with caller conditions."""
    names = NAMES
    def glob():
        parts = []
        for _ in range(rng.randint(1, 3)):
            parts.append(rng.choice(names + ["*", "**", "*.log", "{a,b}", "?", "[a-c]*"]))
        if parts[-1] == "**" and rng.random() < 0.3:
            parts.append(rng.choice(names))
        return "/" + "/".join(parts)
    def cond():
        kind = rng.choice(["uid", "gid"])
        lo = rng.choice([0, 1, 1000, 2000])
        form = rng.randrange(4)
        if form == 0:
            c = f"{kind} == {lo}"
        elif form == 1:
            c = f"{kind} in {lo}..{lo + rng.choice([0, 9, 999])}"
        elif form == 2:
            c = f"{kind} != {lo}"
        else:
            c = f"uid in {{0, {lo}}} and gid != 7"
        return f" {rng.choice(['when', 'unless'])} {c}"
    ops = ["read", "write", "create", "delete", "stat", "exec", "readdir", "lookup", "chmod",
           "chown", "truncate", "utimes", "xattr_read", "xattr_write", "modify", "setattr"]
    types = ["", "file ", "dir ", "symlink "]
    rules = []
    for _ in range(rng.randint(1, 8)):
        kind = rng.choice(["hide", "deny", "deny", "allow", "readonly"])
        sel = f"{rng.choice(types)}\"{glob()}\""
        c = cond() if rng.random() < 0.5 else ""
        if kind == "hide":
            rules.append(f"hide {sel}{c};")
        elif kind == "readonly":
            rules.append(f"readonly {sel}{c};")
        else:
            o = ", ".join(sorted(set(rng.sample(ops, rng.randint(1, 3)))))
            e = f" errno {rng.choice(['EPERM', 'EACCES', 'EROFS'])}" if kind == "deny" else ""
            rules.append(f"{kind} {o} on {sel}{e}{c};")
    return f"policy random_{index} {{\n  " + "\n  ".join(rules) + "\n}\n"
