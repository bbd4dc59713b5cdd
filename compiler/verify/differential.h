#pragma once
// The differential test of a policy's BPF filters against ir_eval.
//
// For every program set of the plan (at a path that reaches its node
// state), every callback and the arguments that change its atoms, and
// every child class a name can lead to (plus random names), it asks the
// harness program what the filter returns for a set of callers built from
// the policy's condition boundaries, and asks ir_eval what the policy
// means for the same request. Filters that hand the request to the daemon
// are counted, not compared. The runner is given: `fsc verify` runs the
// harness object with BPF_PROG_TEST_RUN (bpf_harness.h); tests may run it
// any other way.
//
//   auto report = verify::differential(policy, plan, run, /*random_names=*/64);
//   if (!report) ... report.error() ...; report->mismatches.empty()

#include <functional>
#include <string>
#include <vector>

#include <linux/fuse.h>
#include <linux/types.h>

#include "codegen/fsp_harness.h"
#include "fspol/result.h"
#include "ir/ir.h"
#include "plan/plan.h"

namespace fspol::verify {

using HarnessRun = std::function<Result<fsp_harness_req>(const fsp_harness_req&)>;

struct DifferentialReport {
  uint64_t requests = 0;  // harness runs compared with ir_eval
  uint64_t agreed = 0;
  uint64_t daemon = 0;    // decided by the daemon on this profile: not compared
  std::vector<std::string> mismatches;  // at most a few dozen, described
};

Result<DifferentialReport> differential(const ir::Policy& policy, const plan::Plan& plan,
                                        const HarnessRun& run, uint32_t random_names,
                                        uint64_t seed = 1);

}  // namespace fspol::verify
