#pragma once
// The parser: tokens of one file to its AST (grammar/fspol.ebnf).
//
// Hand-written recursive descent with error recovery: after an error the
// parser skips to the end of the current rule or declaration and goes on,
// so one run reports every independent error in the file. Closed
// vocabularies (operations, errno names, options, file types) are checked
// here, with "did you mean" notes; names that need other files (lets,
// modules, users) are left to semantic analysis.
//
// Guarantees on any input: no crash, no unbounded recursion (conditions
// nest at most kMaxNesting deep), time linear in the input.

#include <optional>
#include <vector>

#include "fspol/diagnostics.h"
#include "syntax/ast.h"
#include "syntax/token.h"

namespace fspol::syntax {

inline constexpr int kMaxNesting = 200;

struct ParsedFile {
  File ast;
  std::vector<Comment> comments;
};

// Lexes and parses `file`. The AST is complete only when no error was
// reported; after errors it holds what could be recovered.
ParsedFile run_parser(FileId file, const SourceFile& source, Diagnostics& diags);

// Decodes the raw text of a string literal (\xHH and \c escapes).
std::string decode_string(std::string_view raw);

}  // namespace fspol::syntax
