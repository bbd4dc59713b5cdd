#pragma once
// The lexer: one file's bytes to tokens and comments.
//
// Contract: never fails and never stops early except on a NUL byte (a
// binary file) or the diagnostics' error limit; every malformed token is
// reported once, with its exact range, and the lexer resumes after it. The
// token list always ends with kEof.

#include <vector>

#include "fspol/diagnostics.h"
#include "syntax/token.h"

namespace fspol::syntax {

struct LexedFile {
  std::vector<Token> tokens;
  std::vector<Comment> comments;
};

LexedFile run_lexer(FileId file, const SourceFile& source, Diagnostics& diags);

}  // namespace fspol::syntax
