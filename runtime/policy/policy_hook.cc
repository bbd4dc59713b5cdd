// The policy decision point (see policy_hook.h). Policies without rules
// allow everything and let the kernel cache every answer; the rule engine
// will replace these bodies without touching the FUSE code.
#include "fspol/runtime/policy_hook.h"

#include "fspol/runtime/runtime.h"

namespace fspol::runtime {

Verdict PolicyHook::check(const Request& request) const noexcept {
  (void)request;
  return Verdict{};
}

bool PolicyHook::caller_independent() const noexcept {
  // Until rules are applied, no answer depends on who asks.
  return policy_ == nullptr || true;
}

}  // namespace fspol::runtime
