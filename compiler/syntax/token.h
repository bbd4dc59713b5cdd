#pragma once
// Tokens of the .fspol language (the table is token.def).

#include <cstdint>
#include <string_view>

#include "fspol/source.h"

namespace fspol::syntax {

enum class TokenKind : uint8_t {
#define FSPOL_TOKEN(name, spelling) name,
#include "syntax/token.def"
};

// How a token kind is named in diagnostics: "';'", "'hide'", "identifier".
std::string_view token_spelling(TokenKind kind);
// The keyword spelled `word`, or kIdent when `word` is not reserved.
TokenKind keyword_kind(std::string_view word);
bool is_keyword(TokenKind kind);

struct Token {
  TokenKind kind = TokenKind::kEof;
  uint32_t begin = 0;  // byte offsets into the file
  uint32_t end = 0;
  uint64_t value = 0;  // kInt and kDuration: the number (a duration's in ms)
  bool malformed = false;  // already reported by the lexer (an unterminated string)
};

// A comment, kept so `fsc fmt` can put it back.
struct Comment {
  uint32_t begin = 0;
  uint32_t end = 0;
  bool block = false;  // /* ... */ rather than # ...
};

}  // namespace fspol::syntax
