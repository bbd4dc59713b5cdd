#include "sema/operations.h"

#include <string>

namespace fspol::sema {

namespace {

constexpr std::array<std::string_view, kOpCount> kNames = {
    "lookup", "stat",     "readdir",  "read",   "write",      "exec",        "create", "delete",
    "rename", "link",     "chmod",    "chown",  "truncate",   "utimes",      "xattr_read",
    "xattr_write", "lock"};

}  // namespace

std::string_view op_name(Op op) { return kNames[static_cast<size_t>(op)]; }

bool op_from_name(std::string_view name, Op& out) {
  for (size_t i = 0; i < kOpCount; ++i) {
    if (kNames[i] == name) {
      out = static_cast<Op>(i);
      return true;
    }
  }
  return false;
}

OpSet expand(syntax::Operation op) {
  using S = syntax::Operation;
  switch (op) {
    case S::kLookup: return bit(Op::kLookup);
    case S::kStat: return bit(Op::kStat);
    case S::kReaddir: return bit(Op::kReaddir);
    case S::kRead: return bit(Op::kRead);
    case S::kWrite: return bit(Op::kWrite);
    case S::kExec: return bit(Op::kExec);
    case S::kCreate: return bit(Op::kCreate);
    case S::kDelete: return bit(Op::kDelete);
    case S::kRenameOp: return bit(Op::kRename);
    case S::kLink: return bit(Op::kLink);
    case S::kChmod: return bit(Op::kChmod);
    case S::kChown: return bit(Op::kChown);
    case S::kTruncate: return bit(Op::kTruncate);
    case S::kUtimes: return bit(Op::kUtimes);
    case S::kSetattr:
      return bit(Op::kChmod) | bit(Op::kChown) | bit(Op::kTruncate) | bit(Op::kUtimes);
    case S::kXattrRead: return bit(Op::kXattrRead);
    case S::kXattrWrite: return bit(Op::kXattrWrite);
    case S::kXattr: return bit(Op::kXattrRead) | bit(Op::kXattrWrite);
    case S::kLock: return bit(Op::kLock);
    case S::kModify: return kModifyOps;
    case S::kAll: return kAllOps;
  }
  return 0;
}

std::string op_set_text(OpSet ops) {
  if (ops == kAllOps) return "all";
  std::string out;
  for (size_t i = 0; i < kOpCount; ++i) {
    if (!(ops & (OpSet{1} << i))) continue;
    if (!out.empty()) out += ", ";
    out += kNames[i];
  }
  return out;
}

}  // namespace fspol::sema
