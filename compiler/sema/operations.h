#pragma once
// Operation classes as sets of atoms (the atoms are the IR's: ir/types.h).

#include <array>
#include <cstdint>
#include <string_view>

#include "ir/types.h"
#include "syntax/ast.h"

namespace fspol::sema {

using ir::Op;
using ir::OpSet;
using ir::bit;
using ir::kOpCount;
using ir::kAllOps;
using ir::kModifyOps;
using ir::op_name;
using ir::op_from_name;
using ir::op_set_text;

// The atoms of an operation class.
OpSet expand(syntax::Operation op);

}  // namespace fspol::sema
