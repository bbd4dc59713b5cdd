#pragma once
// ir_eval: the executable definition of a policy's meaning.
//
// Given a request (a path as seen in the mount, an operation, the caller,
// the file type, and for rename/link the new path) it returns the verdict
// and the rules that decided it. docs/semantics.md states the rules in
// prose; this file is their one implementation. The runtime and the BPF
// backend are tested against it.
//
//   Verdict v = evaluate(policy, Request{"/etc/shadow", Op::kRead, {1000, 1000, "cat"}});
//   if (v.error) ... v.error_name, v.decided_by ...

#include <optional>
#include <string>
#include <vector>

#include "fspol/result.h"
#include "ir/ir.h"

namespace fspol::ir {

// Who asks: fsuid, fsgid and process name (not owned: the runtime keeps
// it in its caller cache).
struct Caller {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::string_view comm;
};

struct Request {
  std::string path;  // absolute, as seen in the mount
  Op op = Op::kLookup;
  Caller caller;
  uint8_t type = syntax::kTypeFile;     // the file's type (for create: the new file's)
  std::optional<std::string> new_path;  // rename and link: the destination
};

// One rule's part in a verdict.
struct Step {
  std::string layer;  // visibility, access, attr, names, placement, userspace, audit
  uint32_t rule = 0;
  std::string effect;  // e.g. "hidden", "deny EPERM", "uid = 0"
};

struct Verdict {
  int error = 0;           // 0: the operation goes ahead
  std::string error_name;  // "ENOENT", ...
  std::string reason;      // one sentence, for people
  std::string canonical_path;  // after case folding
  uint32_t path_class = 0;
  std::vector<Step> steps;  // in layer order
  // What applies when the operation goes ahead:
  AttrRewrite attr;  // the effective rewrite (first match per field)
  std::string handler;     // userspace handler, or ""
  std::string lower_root = "main";
  std::string lower_path;  // where the path lives below that root
  std::vector<std::string> audit_tags;
  bool casefolded = false;  // the path is in a case-insensitive subtree
};

// Evaluates a request. Fails (no verdict) only for a malformed path.
Result<Verdict> evaluate(const Policy& policy, const Request& request);

bool holds(const Condition& condition, const Caller& caller);

// The path class of a canonical absolute path.
uint32_t path_class(const Policy& policy, std::string_view canonical_path);

// "write" -> Op; false when unknown.
bool parse_op(std::string_view name, Op& out);

}  // namespace fspol::ir
