#pragma once
// The one meaning of each setting a policy may fix (options.def), applied
// from a typed value: the compiler's for a policy's `option`s, an -o
// value parsed by its row's kind for the command line (options.cc).

#include "fspol/runtime/options.h"
#include "syntax/ast.h"

namespace fspol::runtime {

void apply_setting(MountOptions& options, syntax::OptionName name, const syntax::OptionValue& value);

}  // namespace fspol::runtime
