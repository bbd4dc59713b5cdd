#pragma once
// Prints the IR (`fsc compile --emit=ir`): rules in resolution order, then
// every path class with an example path, the rules matching there, and its
// decision tables (ir/decide.h): for each operation the decision list
// (first match wins), what a hide does below the class, and the other
// layers' lists, with the rule behind every entry. Deterministic: the same
// policy prints the same text.
//
//   class 3 "/home/a/.git" (state 49)
//     rules: 0 hide 2 deny
//     lookup, stat, read, ...: ENOENT (hidden) (rule 0)
//     create: EACCES (hidden name) (rule 0)
//     below it (as a directory): ENOENT (rule 0)

#include <string>

#include "ir/ir.h"
#include "ir/render.h"

namespace fspol::ir {

std::string print_ir(const Policy& policy);

// One line describing a rule: kind, operations, selectors, clauses.
std::string rule_text(const Policy& policy, const Rule& rule);

std::string type_text(uint8_t types);

}  // namespace fspol::ir
