#pragma once
// The BPF C of a planned policy.
//
// Both files share one generated part: the DFA as read-only tables, a
// bounded name walk (bpf_loop), the caller conditions the plan keeps in
// the kernel, and one decision function per fuse_ops callback and stage
// that switches on the program set and runs the plan's first-match
// chains (a comment and a `#line` per rule). Then:
//   bpf_c      one `struct fuse_ops` per program set (SEC(".struct_ops")),
//              whose programs call the decision functions with their set
//              as a constant, so each program keeps only its own branch;
//   harness_c  one SEC("syscall") program that calls the same functions
//              for a request described in `struct fsp_harness_req`
//              (harness_abi.h), for BPF_PROG_TEST_RUN on kernels without
//              fuse-bpf (`fsc verify`).
// The same policy and plan give byte-identical text.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ir/ir.h"
#include "plan/plan.h"

namespace fspol::codegen {

struct BpfFiles {
  std::string bpf_c;      // <name>.bpf.c
  std::string harness_c;  // <name>.harness.bpf.c
};

// `stem` names the files (<stem>.bpf.c, <stem>.harness.bpf.c).
BpfFiles emit_bpf_c(const ir::Policy& policy, const plan::Plan& plan, std::string_view stem);

// The headers the generated files include besides libbpf's, as
// (name, text): fuse_bpf_abi.h, fuse_bpf_ops.def, fsp_harness.h, fsp_machine.h.
const std::vector<std::pair<std::string, std::string>>& bpf_headers();

}  // namespace fspol::codegen
