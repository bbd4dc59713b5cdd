#pragma once
// A compact, location-free rendering of the AST as s-expressions, e.g.
//   (policy p (rule deny (ops write) (sel "/x/**") (errno EPERM) (when (== uid 0))))
// Unit tests compare parser output against it, and the formatter's tests
// use it to check that formatting never changes what a file means.

#include <string>

#include "syntax/ast.h"

namespace fspol::syntax {

std::string ast_dump(const File& file);

}  // namespace fspol::syntax
