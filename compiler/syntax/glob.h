#pragma once
// Selector globs: syntax and structure.
//
// A glob is an absolute path pattern, written raw inside a string literal:
//   "/home/*/.ssh/**"   "/logs/{app,sys}-[0-9]?.log"   "/a\*b"
// `*` and `?` stay within one component, `**` is a whole component matching
// zero or more components, `[...]` is a byte class (`!` or `^` negates),
// `{a,b}` alternatives within a component, `\c` makes c literal and `\xHH`
// is a byte. The exact matching semantics are in docs/semantics.md; this
// file only parses and checks the syntax, so every malformed glob gets a
// diagnostic at the exact column inside the string.

#include <bitset>
#include <optional>
#include <string>
#include <vector>

#include "fspol/diagnostics.h"
#include "syntax/ast.h"

namespace fspol::syntax {

struct GlobPiece;
using GlobSeq = std::vector<GlobPiece>;

struct GlobPiece {
  enum class Kind : uint8_t { kLiteral, kStar, kAnyChar, kClass, kAlternatives };
  Kind kind = Kind::kLiteral;
  std::string literal;                // kLiteral
  std::bitset<256> bytes;             // kClass: the bytes it matches (negation applied)
  std::vector<GlobSeq> alternatives;  // kAlternatives
};

struct GlobComponent {
  bool globstar = false;  // the whole component is **
  GlobSeq pieces;
};

// "/" is the glob with no components: it matches only the root.
struct Glob {
  std::vector<GlobComponent> components;
};

// Parses the raw text of `pattern`. On a syntax error reports it (located
// inside the string) and returns nullopt.
std::optional<Glob> parse_glob(const StringLit& pattern, Diagnostics& diags);

}  // namespace fspol::syntax
