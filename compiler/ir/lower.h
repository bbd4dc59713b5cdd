#pragma once
// Pass: lower. A checked sema::Program to the IR.
//
// Input: a Program that passed resolve and check. Output: an ir::Policy:
// every selector of every rule goes into one NFA, which becomes one
// minimal DFA; each path class lists the rules matching there, in rule
// order. The one failure: an automaton beyond automata::kMaxDfaStates,
// reported at the selector that makes it grow (or at the policy).
//
//   deny write on "/a/*";  hide "/**/.git";
// => DFA with classes "/" {hide?no}, "/a" {}, "/a/x" {deny}, "/.git" {hide},
//    "/a/.git" {deny, hide}, ...

#include <optional>

#include "fspol/diagnostics.h"
#include "fspol/source.h"
#include "ir/ir.h"
#include "sema/program.h"

namespace fspol::ir {

std::optional<Policy> run_lower(const sema::Program& program, const SourceManager& sources,
                                Diagnostics& diags,
                                uint32_t max_states = automata::kMaxDfaStates);

}  // namespace fspol::ir
