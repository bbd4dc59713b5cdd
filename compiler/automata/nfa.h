#pragma once
// Globs to one byte-level NFA (Thompson construction).
//
// Paths are matched as byte strings in a fixed encoding: every component
// is followed by "/", so "/a/b" is "a/b/" and the root "/" is "". Ending
// each component with the separator makes the states right after a "/"
// exactly the path classes: the minimal DFA then tells components apart
// only where their futures differ. A glob becomes a language over that
// encoding:
//   "/a/*.log"  = "a/" [^/]* ".log/"   (with * over bytes other than / and NUL)
//   "/a/**"     = "a/" ([^/]+ "/")*    (** is zero or more whole components)
//   "?"         = one UTF-8 character, or one byte >= 0x80 (lenient)
// Accepting states carry the index of the glob they end.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "syntax/glob.h"

namespace fspol::automata {

struct NfaEdge {
  uint8_t lo = 0;  // byte range [lo, hi]
  uint8_t hi = 0;
  uint32_t to = 0;
};

struct NfaState {
  std::vector<NfaEdge> edges;
  std::vector<uint32_t> epsilon;
  int32_t accept = -1;  // the glob this state ends, or -1
};

struct Nfa {
  std::vector<NfaState> states;
  uint32_t start = 0;
};

// One NFA recognising every glob; glob i's accepting state carries i.
Nfa build_nfa(const std::vector<const syntax::Glob*>& globs);

// The encoding above: "/a/b" -> "a/b/", "/" -> "".
std::string encode_path(std::string_view path);

}  // namespace fspol::automata
