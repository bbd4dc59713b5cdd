"""Random policies for the differential tests (tests/tools/verify_test.py,
tests/runtime/differential_test.py, tests/runtime/differential_layers_test.py):
visibility and access rules over a small set of names, with caller
conditions; random_layers_policy adds every other layer."""

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


LAYER_DIRS = ["a", "b", "data", "tmp"]


def random_layers_policy(rng, index):
    """A policy with a few visibility and access rules and rules of every
    other layer over LAYER_DIRS: attributes (masks, ids, offsets, with
    conditions), a name map (.log <-> .txt, for files only or for every
    type), a casefold subtree, a
    redirect of a subtree to the lower root `other` ("/t"), a handler
    (redact_secrets) for some callers. Returns (policy, layout), layout
    being the same policy with its rename, casefold and redirect rules
    only (where names live, for any caller)."""
    def glob():
        d = rng.choice(LAYER_DIRS + ["*", "**"])
        return "/" + d + rng.choice(["/**", "/*", "/*.log", "/*.txt", "/sub/*", ""])
    def cond():
        if rng.random() < 0.5:
            return ""
        c = rng.choice(["uid == 1000", "uid != 0", "gid == 7", "uid in 1000..1999", "uid == 2000"])
        return f" {rng.choice(['when', 'unless'])} {c}"
    layout = []
    dirs = rng.sample(LAYER_DIRS, 3)
    if rng.random() < 0.6:
        layout.append(f'redirect "/{dirs[0]}/**" to other "/t";')
    folds = rng.random() < 0.5
    if folds:
        layout.append(f'casefold "/{dirs[1]}/**";')
    if rng.random() < 0.6:  # a name map where names are folded is an error
        where = rng.choice(([] if folds else ["/**"]) + [f"/{dirs[2]}/**", f"/{dirs[2]}/*"])
        kind = rng.choice(["", "", "file "])
        layout.append(f'rename {kind}"{where}" {{ suffix ".log" -> ".txt"; suffix ".txt" -> ".log"; }}')
    rules = []
    for _ in range(rng.randint(1, 3)):
        stmts = []
        if rng.random() < 0.6:
            stmts.append(f"mode {rng.choice(['&=', '|='])} 0{rng.choice(['640', '750', '444', '7', '20'])};")
        if rng.random() < 0.5:
            stmts.append(rng.choice(["uid = 33;", "uid += 100000;", "uid -= 1000;"]))
        if rng.random() < 0.5:
            stmts.append(rng.choice(["gid = 9997;", "gid += 5;"]))
        if stmts:
            kind = rng.choice(["", "file ", "dir "])
            rules.append(f'attr {kind}"{glob()}"{cond()} {{ {" ".join(stmts)} }}')
    if rng.random() < 0.7:
        where = rng.choice(["/**", "/*/*", "/*/*.txt", "/*/sub/*", glob()])
        rules.append(f'handle read on file "{where}" with redact_secrets{cond()};')
    for _ in range(rng.randint(0, 2)):
        kind = rng.choice(["hide", "deny"])
        sel = f'{rng.choice(["", "file ", "dir "])}"{glob()}"'
        if kind == "hide":
            rules.append(f"hide {sel}{cond()};")
        else:
            ops = ", ".join(sorted(set(rng.sample(["read", "stat", "lookup"], rng.randint(1, 2)))))
            rules.append(f"deny {ops} on {sel} errno EPERM{cond()};")
    rng.shuffle(rules)
    head = 'lower other = "/nonexistent/other";'
    body = [head] + layout + rules
    policy = f"policy layers_{index} {{\n  " + "\n  ".join(body) + "\n}\n"
    only_layout = f"policy layout_{index} {{\n  " + "\n  ".join([head] + layout) + "\n}\n"
    return policy, only_layout
