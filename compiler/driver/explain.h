#pragma once
// Renders an ir_eval verdict for `fsc explain`, as text for people or as
// JSON for tools.

#include <string>

#include "ir/ir_eval.h"

namespace fspol::driver {

std::string explain_text(const ir::Policy& policy, const ir::Request& request,
                         const ir::Verdict& verdict);
std::string explain_json(const ir::Policy& policy, const ir::Request& request,
                         const ir::Verdict& verdict);

}  // namespace fspol::driver
