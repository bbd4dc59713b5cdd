#pragma once
// Prints the IR (`fsc compile --emit=ir`): rules in resolution order, then
// every path class with an example path, the rules matching there, and for
// each operation the decision list (first match wins), with the source of
// every entry. Deterministic: the same policy prints the same text.
//
//   class 2 "/a/a"
//     rules: 1 deny[file] 3 hide
//     read, write, ...   hidden (rule 3)
//     create             EACCES: name hidden (rule 3)

#include <string>

#include "ir/ir.h"
#include "ir/render.h"

namespace fspol::ir {

std::string print_ir(const Policy& policy);

// One line describing a rule: kind, operations, selectors, clauses.
std::string rule_text(const Policy& policy, const Rule& rule);

std::string type_text(uint8_t types);

}  // namespace fspol::ir
