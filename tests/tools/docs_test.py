#!/usr/bin/env python3
"""The language reference must not drift from the compiler's tables: every
keyword, operation, option and errno name in compiler/syntax/*.def appears
in grammar/README.md, and every keyword appears in grammar/fspol.ebnf."""

import re
import sys

root = sys.argv[1]


def names(path, pattern):
    with open(f"{root}/compiler/syntax/{path}") as f:
        return [m.group(1) for m in re.finditer(pattern, f.read(), re.M)]


with open(f"{root}/grammar/README.md") as f:
    readme = f.read()
with open(f"{root}/grammar/fspol.ebnf") as f:
    ebnf = f.read()

tables = {
    "keyword": names("token.def", r'^FSPOL_KEYWORD\(\w+, "([^"]+)"\)'),
    "operation": names("operations.def", r'^FSPOL_OPERATION\(\w+, "([^"]+)"'),
    "option": names("options.def", r'^FSPOL_OPTION\(\w+, "([^"]+)"'),
    "errno": names("errnos.def", r"^FSPOL_ERRNO\((\w+),"),
}
missing = []
for kind, words in tables.items():
    if not words:
        missing.append(f"no {kind}s read from the .def file")
    for word in words:
        if f"`{word}`" not in readme:
            missing.append(f"grammar/README.md does not document {kind} '{word}'")
for word in tables["keyword"]:
    if f'"{word}"' not in ebnf:
        missing.append(f"grammar/fspol.ebnf never uses keyword '{word}'")
for line in missing:
    print(line)
print("docs: %d names checked, %d missing" % (sum(map(len, tables.values())), len(missing)))
sys.exit(1 if missing else 0)
