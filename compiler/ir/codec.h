#pragma once
// The IR as bytes: what `fsc compile --emit=stub` embeds in a program, so
// that the runtime's engine executes the policy fsc compiled (its DFA,
// path classes and decision tables) without compiling it again.
//
//   std::string bytes = ir::encode(policy);
//   Result<ir::Policy> same = ir::decode(bytes);   // equal, field by field
//
// The format is versioned and little-endian. decode checks every length,
// enumerator and index the engine and ir_eval rely on (a rule's
// selectors, the DFA's transitions, each class's tables), so bytes that
// are not an encoded policy give an error, never a policy that would make
// them read out of bounds. Source ranges are kept as numbers; they mean
// something only to the compiler that made them.

#include <string>
#include <string_view>

#include "fspol/result.h"
#include "ir/ir.h"

namespace fspol::ir {

std::string encode(const Policy& policy);
Result<Policy> decode(std::string_view bytes);

}  // namespace fspol::ir
