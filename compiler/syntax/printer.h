#pragma once
// The canonical printer behind `fsc fmt`.
//
// Prints a parsed file in canonical layout: two-space indentation, one item
// per line, clauses in a fixed order (ops, selectors, to, with, errno, tag,
// condition), minimal parentheses, octal modes, and rules wider than 100
// columns broken one selector and one clause per line. Comments are kept:
// a comment on the line of an item stays at its end, every other comment is
// printed on its own line before the next item. One blank line between
// items is kept where the source had one or more.
//
// Invariants (tested over the corpus): format(parse(format(x))) ==
// format(x), and parse(format(x)) has the same ast_dump as parse(x).

#include <string>

#include "fspol/source.h"
#include "syntax/parser.h"

namespace fspol::syntax {

// `parsed` must have parsed without errors.
std::string format_file(const ParsedFile& parsed, const SourceFile& source);

// A string literal for `value`: quotes, with '"', '\' and bytes that are not
// printable UTF-8 escaped.
std::string quote(std::string_view value);

}  // namespace fspol::syntax
