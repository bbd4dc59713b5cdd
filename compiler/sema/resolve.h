#pragma once
// Pass: resolve. The parsed policy (or module) to a Program whose rules are
// in resolution order, with imports loaded and `let`s expanded.
//
// Input: a ParsedFile without syntax errors. Output: a Program whose
// rules carry their AST, their expanded selectors and the `use` sites that
// brought them in; rule fields other than selectors are filled by the
// check pass. Reports: missing modules (with the directories searched),
// import cycles, a policy imported as a module, duplicate imports, lets
// and aliases, unknown lets and modules (with "did you mean"), let cycles,
// type filters that exclude everything, and unused lets (-Wunused-let).
//
//   import hide_dotfiles;                  module hide_dotfiles {
//   policy p {                               let dots = "/**/.*";
//     use hide_dotfiles;              +      hide dots;
//     deny write on "/x";                  }
//   }
//   => rules: [hide "/**/.*" (via use at p.fspol:3), deny write "/x"]

#include <optional>

#include "sema/context.h"
#include "sema/program.h"

namespace fspol::sema {

std::optional<Program> run_resolve(const syntax::ParsedFile& root, SemaContext& ctx);

}  // namespace fspol::sema
