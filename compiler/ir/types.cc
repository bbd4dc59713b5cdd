#include "ir/types.h"

namespace fspol::ir {

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

}  // namespace fspol::ir
