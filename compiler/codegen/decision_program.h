#pragma once
// The decisions of a plan as data: a program of ops (vm_ops.def) for every
// distinct filter decision, which the BPF filters run on the decision
// machine bpf_c.cc prints. The machine is the same code for every policy,
// so a filter's size, its verification and the build time do not grow
// with the policy; only the tables do.
//
//   DecisionProgram d = assemble_decisions(policy, plan);
//   d.entry[cb * 2 + post][set]  // the first op of that set's filter

#include <array>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ir/ir.h"
#include "plan/plan.h"

namespace fspol::codegen {

enum class VmOp : uint8_t {
#define FSPOL_VM_OP(name, meaning) name,
#include "codegen/vm_ops.def"
};
inline constexpr size_t kVmOpCount = 0
#define FSPOL_VM_OP(name, meaning) +1
#include "codegen/vm_ops.def"
    ;
std::string_view vm_op_name(VmOp op);     // "RET"
std::string_view vm_op_meaning(VmOp op);  // vm_ops.def's text

struct VmRow {
  VmOp op = VmOp::RET;
  uint8_t field = 0;
  uint32_t a = 0, b = 0, c = 0;
  uint32_t t = 0, f = 0;
  std::string note;  // the rule or fact behind it, for the reader
};

struct DecisionProgram {
  std::vector<VmRow> ops;  // ops[0] returns BPF_FUSE_CONTINUE
  // By-name filters: (child class, first op), sorted by class within the
  // range a SEARCH names.
  std::vector<std::pair<uint32_t, uint32_t>> children;
  std::vector<std::string> comms;  // the process names COMM compares
  std::set<int> arg_rows;          // the arg_atoms.def rows ARG tests
  // Per callback and stage (cb * 2 + post): each set's first op (0 for a
  // set without the filter); empty when no set decides there in BPF.
  std::array<std::vector<uint32_t>, plan::kCallbackCount * 2> entry;
  uint32_t max_steps = 0;  // the most steps a run takes
};

// A filter's program exists in the fuse_ops set (a postfilter only when
// BPF runs it; a daemon postfilter is the kernel's request, not a program).
bool has_program(const plan::Filter& f, bool post);

DecisionProgram assemble_decisions(const ir::Policy& policy, const plan::Plan& plan);

}  // namespace fspol::codegen
