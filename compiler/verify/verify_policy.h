#pragma once
// Pass: verify. Proves properties of a lowered policy and reports where
// they fail, each with an example path.
//
// Input: the IR (its decision tables, classes, ranges and options) and,
// for the checks that need a selector's glob structure (case folding,
// redirect targets), the checked Program. Reports:
//   warnings  -Wshadowed     a rule that never decides: earlier rules that
//                            always apply decide first wherever it matches
//             -Wunreachable  a hide rule for paths already hidden
//             -Wcasefold-case a selector that can never match inside a
//                            case-insensitive subtree (upper-case letters)
//   errors    hide leaks: a rule that names only hidden paths (hiding
//             wins, so it never acts), a redirect that serves a hidden
//             subtree under another name, a hide selector that case
//             folding bypasses, a caller-dependent hide under
//             `option cache = always`;
//             rename maps that are not bijective or overlap, casefold
//             roots that collide; redirects whose target lies inside the
//             subtree they redirect.
// Returns false when it reported errors.
//
//   allow read on "/a/x";   hide "/a/**";   =>  error: rule names only
//   hidden paths (e.g. "/a/x", hidden by the rule at p.fspol:2)

#include "ir/ir.h"
#include "sema/context.h"
#include "sema/program.h"

namespace fspol::verify {

bool run_verify(const sema::Program& program, const ir::Policy& policy, sema::SemaContext& ctx);

}  // namespace fspol::verify
