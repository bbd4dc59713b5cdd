#pragma once
// The BPF C of a planned policy.
//
// Both files share one generated part: the DFA as read-only tables, a
// bounded name walk (bpf_loop), the plan's decisions as op tables
// (decision_program.h, a comment per op naming its rule) and the decision
// machine that runs them (fsp_machine.h), with per callback and stage the
// first op of each set's filter. Then:
//   bpf_c      the `struct fuse_ops` program set(s) (SEC(".struct_ops")):
//              one whose programs run the node's state's decisions
//              (profile node_states), else one per set, its programs
//              passing their set as a constant;
//   harness_c  one SEC("syscall") program that calls the same functions
//              for a request described in `struct fsp_harness_req`
//              (harness_abi.h), for BPF_PROG_TEST_RUN on kernels without
//              fuse-bpf (`fsc verify`).
// The same policy and plan give byte-identical text.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ir/ir.h"
#include "plan/plan.h"

namespace fspol::codegen {

// What the kernel lets one BPF map hold (KMALLOC_MAX_SIZE, x86-64), and so
// the read-only tables of an object (its .rodata map).
inline constexpr uint64_t kMaxTableBytes = uint64_t{4} << 20;

struct BpfFiles {
  std::string bpf_c;      // <name>.bpf.c
  std::string harness_c;  // <name>.harness.bpf.c
  // The read-only tables' bytes, and of them the DFA's and the decisions'
  // (ops, children, per-set tables).
  uint64_t table_bytes = 0;
  uint64_t dfa_bytes = 0;
  uint64_t decision_bytes = 0;
  size_t ops = 0;
  // The rules with the most ops, most first (at most three).
  std::vector<std::pair<uint32_t, size_t>> heaviest_rules;
};

// `stem` names the files (<stem>.bpf.c, <stem>.harness.bpf.c).
BpfFiles emit_bpf_c(const ir::Policy& policy, const plan::Plan& plan, std::string_view stem);

// The headers the generated files include besides libbpf's, as
// (name, text): fuse_bpf_abi.h, fuse_bpf_ops.def, fsp_harness.h, fsp_machine.h.
const std::vector<std::pair<std::string, std::string>>& bpf_headers();

}  // namespace fspol::codegen
