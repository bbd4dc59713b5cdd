#pragma once
// The C++ stubs of a policy (`fsc compile --emit=stub`): what a program
// needs to serve the policy fsc compiled with libfspol_runtime, without
// compiling it again.
//
//   <name>_stub.h   fspol_policy::<name>::compiled()  the IR as bytes (ir/codec.h):
//                                                    automaton, classes, decision tables
//                   fspol_policy::<name>::policy()    ready for fspol::runtime::serve,
//                                                    handlers resolved in a registry
//                   fspol_policy::<name>::Programs    RAII over <name>.skel.h: the fuse_ops
//                                                    sets registered while it lives
//   <name>_stub.cc  their definitions (link libfspol_runtime and libbpf)
//
// The stubs carry data the runtime's engine executes, never another
// implementation of the semantics: every decision the plan leaves to the
// daemon is the engine's.

#include <string>

#include "ir/ir.h"
#include "plan/plan.h"

namespace fspol::codegen {

struct StubFiles {
  std::string header;
  std::string source;
};

// `skeleton` is the file name of the policy's skeleton header.
StubFiles emit_stub(const ir::Policy& policy, const plan::Plan& plan, const std::string& skeleton);

}  // namespace fspol::codegen
