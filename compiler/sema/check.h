#pragma once
// Pass: check. Fills in and checks every rule's meaning after resolve.
//
// Input: a Program from run_resolve (rules with AST and selectors).
// Output: rules with operations expanded to atoms (defaults: hide, deny,
// allow -> all; readonly, audit -> modify), errno values, conditions
// normalised to membership tests, attribute rewrites, name maps, redirect
// targets and handlers. Reports: errnos that no such operation returns,
// modes out of range or written in decimal (-Wdecimal-mode), ids out of
// range, unknown user/group names, empty or reversed ranges, id maps that
// are not one-to-one, fields set twice, caller conditions on rules that
// must be the same for every caller (rename, casefold, redirect), casefold
// selectors that are not literal directories, unknown lower
// roots, targets that are not clean absolute paths, handler names that are
// not C++ identifiers, and non-ASCII bytes in character classes.

#include "sema/context.h"
#include "sema/program.h"

namespace fspol::sema {

// Returns false when it reported errors.
bool run_check(Program& program, SemaContext& ctx);

// True when `selector` is a literal path ("/a/b") or one followed by "/**";
// `prefix` receives the literal path ("/" for the root).
bool literal_subtree(const Selector& selector, std::string& prefix);

// The leading literal components of a selector ("/objects" for
// "/objects/[0-9a-f]*/x"): a redirect replaces them with its target path.
std::string literal_prefix(const Selector& selector);

}  // namespace fspol::sema
