#pragma once
// Atomic operations: what a request actually does. Policy operation
// classes (`write`, `setattr`, `modify`, ...) are sets of these; the IR and
// the evaluator work on atoms only.

#include <array>
#include <cstdint>
#include <string_view>

#include "syntax/ast.h"

namespace fspol::sema {

enum class Op : uint8_t {
  kLookup,
  kStat,
  kReaddir,
  kRead,
  kWrite,
  kExec,
  kCreate,
  kDelete,
  kRename,
  kLink,
  kChmod,
  kChown,
  kTruncate,
  kUtimes,
  kXattrRead,
  kXattrWrite,
  kLock,
};
inline constexpr size_t kOpCount = 17;

using OpSet = uint32_t;
inline constexpr OpSet bit(Op op) { return OpSet{1} << static_cast<unsigned>(op); }
inline constexpr OpSet kAllOps = (OpSet{1} << kOpCount) - 1;
// Operations that change the tree; `readonly` denies exactly these.
inline constexpr OpSet kModifyOps = bit(Op::kWrite) | bit(Op::kCreate) | bit(Op::kDelete) |
                                    bit(Op::kRename) | bit(Op::kLink) | bit(Op::kChmod) |
                                    bit(Op::kChown) | bit(Op::kTruncate) | bit(Op::kUtimes) |
                                    bit(Op::kXattrWrite);

std::string_view op_name(Op op);
// The atom named `name` (`write`, `xattr_read`, ...), if any.
bool op_from_name(std::string_view name, Op& out);
// The atoms of an operation class.
OpSet expand(syntax::Operation op);
// "write, create" for diagnostics and the IR.
std::string op_set_text(OpSet ops);

}  // namespace fspol::sema
