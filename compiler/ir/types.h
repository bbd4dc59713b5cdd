#pragma once
// The IR's value types: operation atoms, caller conditions, attribute
// rewrites, name maps and settings. Semantic analysis produces them
// (sema/program.h uses these types), the IR keeps them, and every later
// stage (evaluator, planner, code generators, runtime) reads only these.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "syntax/ast.h"

namespace fspol::ir {

// Atomic operations: what a request actually does (docs/semantics.md).
// Policy operation classes (`write`, `setattr`, `modify`, ...) are sets
// of these.
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
// "write, create" for diagnostics and the IR.
std::string op_set_text(OpSet ops);
// The atom named `name` (`write`, `xattr_read`, ...), if any.
bool op_from_name(std::string_view name, Op& out);

struct Interval {
  uint32_t lo = 0;
  uint32_t hi = 0;
  bool operator==(const Interval&) const = default;
};

// A condition on the caller, with every comparison reduced to membership.
struct Condition {
  enum class Kind : uint8_t { kTrue, kFalse, kAnd, kOr, kNot, kUidIn, kGidIn, kCommIn };
  Kind kind = Kind::kTrue;
  std::vector<Condition> operands;  // kAnd, kOr (two or more), kNot (one)
  std::vector<Interval> ids;        // kUidIn, kGidIn: sorted, disjoint, not adjacent
  std::vector<std::string> names;   // kCommIn: sorted, unique
};

// mode' = (mode & and_mask) | or_mask, on the 07777 bits.
struct ModeRewrite {
  uint32_t and_mask = 07777;
  uint32_t or_mask = 0;
};

struct IdMapping {
  Interval from;
  Interval to;  // same length as `from`
};

struct IdRewrite {
  enum class Kind : uint8_t { kSet, kOffset, kMap };
  Kind kind = Kind::kSet;
  uint32_t value = 0;   // kSet
  int64_t offset = 0;   // kOffset
  std::vector<IdMapping> mappings;  // kMap, sorted by from.lo
};

struct AttrRewrite {
  std::optional<ModeRewrite> mode;
  std::optional<IdRewrite> uid;
  std::optional<IdRewrite> gid;
  std::optional<int64_t> atime;
  std::optional<int64_t> mtime;
  std::optional<int64_t> ctime;
};

struct NameMap {
  bool suffix = true;  // else prefix
  std::string lower;   // the part as stored on the lower filesystem
  std::string view;    // the part as shown in the view
};

// A setting the policy fixes (`option name = value;`), as written.
struct Option {
  syntax::OptionName name;
  syntax::OptionValue value;
};

}  // namespace fspol::ir
