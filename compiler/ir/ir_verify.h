#pragma once
// ir_verify: the IR's invariants, checked. A broken invariant is a bug in
// the compiler, never a user's mistake: the message names it and the
// process aborts. run_lower runs it in debug builds; the tests run it on
// every policy they compile.
//
// Checked: rule and selector numbering; the DFA's shape; every path class
// is its state's class and its matches are sorted rules of the class;
// children are classes; one decision table per class, whose entries are
// rules matching there (with those types), in the layer of their kind, in
// resolution order, first-match lists ending at their first entry that
// always applies.

#include "ir/ir.h"

namespace fspol::ir {

void verify_ir(const Policy& policy);

}  // namespace fspol::ir
