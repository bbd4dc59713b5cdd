#pragma once
// The single point where policy decisions enter the FUSE daemon.
//
// Every request the daemon serves is described as a Request and passed to
// PolicyHook::check() before the lower directory is touched; the Verdict
// either lets the operation through or ends it with an errno. Nothing else
// in the FUSE code knows about policies. Today the hook serves policies
// without rules (examples/passthrough.fspol): every request is allowed and
// every answer is cacheable. The rule engine (a later issue) replaces the
// body of check(), and tests can run the same Requests through the
// compiler's reference evaluator.
//
//   PolicyHook hook(policy);
//   Verdict v = hook.check(Request{OpClass::kRead, uid, gid, pid, ino, name});
//   if (!v.allow) return v.error;

#include <cstdint>
#include <string_view>

namespace fspol::runtime {

struct Policy;

// Operation classes of the policy language (grammar/README.md).
enum class OpClass : uint8_t {
  kLookup, kRead, kWrite, kCreate, kDelete, kRename, kSetattr, kXattr, kReaddir, kExec, kOther
};

// One request as the policy sees it: who asks, which operation, on which
// node (and child name for directory operations).
struct Request {
  OpClass op = OpClass::kOther;
  uint32_t opcode = 0;  // FUSE opcode, for audit
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t pid = 0;
  uint64_t node = 0;           // FUSE node id the operation applies to
  std::string_view name = {};  // child name, for lookup/create/delete/rename
};

struct Verdict {
  bool allow = true;
  int error = 0;          // errno when !allow
  bool cacheable = true;  // may the kernel cache the answer?
};

class PolicyHook {
 public:
  explicit PolicyHook(const Policy* policy) : policy_(policy) {}

  // Decides one request. Thread-safe, never blocks, never allocates.
  Verdict check(const Request& request) const noexcept;

  // True when no rule depends on the caller, so kernel caches may answer
  // for the daemon. False turns off entry/attr caching for the mount.
  bool caller_independent() const noexcept;

 private:
  const Policy* policy_;
};

}  // namespace fspol::runtime
