#pragma once
// Pass: lower. A checked sema::Program to the IR.
//
// Input: a Program that passed resolve and check. Output: an ir::Policy:
// every selector of every rule goes into one NFA, which becomes one
// minimal DFA; each path class lists the rules matching there, in rule
// order. No diagnostics: everything that can be wrong was checked before.
//
//   deny write on "/a/*";  hide "/**/.git";
// => DFA with classes "/" {hide?no}, "/a" {}, "/a/x" {deny}, "/.git" {hide},
//    "/a/.git" {deny, hide}, ...

#include "fspol/source.h"
#include "ir/ir.h"

namespace fspol::ir {

Policy run_lower(const sema::Program& program, const SourceManager& sources);

}  // namespace fspol::ir
