#pragma once
// A policy's harness object loaded into the running kernel with libbpf,
// its fsp_harness program run with BPF_PROG_TEST_RUN. The only code of
// the compiler that talks to the kernel; `fsc verify` reaches it through
// driver::Backends.
//
//   auto h = verify::BpfHarness::load(object_bytes, "p.harness.bpf.o");
//   if (!h) ... h.error() (EPERM: no BPF permission) ...
//   auto out = (*h)->run(request);

#include <memory>
#include <string>

#include <linux/fuse.h>
#include <linux/types.h>

#include "codegen/fsp_harness.h"
#include "fspol/result.h"

struct bpf_object;

namespace fspol::verify {

class BpfHarness {
 public:
  // Loads the object; a verifier rejection comes back with the log.
  static Result<std::unique_ptr<BpfHarness>> load(const std::string& object, const std::string& name);
  ~BpfHarness();

  Result<fsp_harness_req> run(const fsp_harness_req& request) const;
  // Instructions the verifier processed for the program (0 if unknown).
  uint32_t verified_insns() const { return verified_insns_; }
  uint32_t program_insns() const { return program_insns_; }

 private:
  BpfHarness() = default;
  bpf_object* object_ = nullptr;
  int fd_ = -1;
  uint32_t verified_insns_ = 0;
  uint32_t program_insns_ = 0;
};

}  // namespace fspol::verify

namespace fspol::verify {

// Loads a fuse_ops object, registers every program set in it and removes
// them again: the count. ENOTSUP when the running kernel has no fuse-bpf.
Result<uint32_t> register_struct_ops(const std::string& object, const std::string& name);

}  // namespace fspol::verify
