#pragma once
// fsc's commands, built on the compiler's one list of stages
// (fspol/compiler.h).
//
// Every command compiles each file through one Compiler, prints the
// diagnostics of all files sorted, and maps the outcome to an exit
// status: 0 ok, 1 errors in a policy (also a module where a policy is
// needed), 2 usage errors, 3 I/O errors (which win).

#include <functional>
#include <iosfwd>

#include "codegen/bpf_build.h"
#include "driver/options.h"
#include "verify/differential.h"

namespace fspol::driver {

enum ExitCode : int {
  kExitOk = 0,
  kExitPolicyError = 1,
  kExitUsage = 2,
  kExitIo = 3,
  kExitNoBpfPermission = 4,
};

struct Streams {
  std::ostream& out;
  std::ostream& err;
  bool err_is_tty = false;
};

// What fsc links beyond the front end, kept out of the compiler library
// (its tests and the fuzzer stay free of LLVM): the in-process BPF build.
// Unset, commands that need it say fsc was built without it.
// and the loading of BPF objects into the running kernel (libbpf).
struct LoadedHarness {
  verify::HarnessRun run;
  uint32_t verified_insns = 0;  // processed by the verifier
  uint32_t program_insns = 0;
};
struct Backends {
  std::function<codegen::BpfBuildResult(const codegen::BpfSource&)> build_bpf;
  std::function<Result<LoadedHarness>(const std::string& object, const std::string& name)>
      load_harness;
  // The program sets of a fuse_ops object registered and removed again;
  // the count, or an error (ENOTSUP: the kernel has no fuse-bpf).
  std::function<Result<uint32_t>(const std::string& object, const std::string& name)>
      register_struct_ops;
};

int run_check(const Options& options, Streams streams);
int run_compile(const Options& options, Streams streams, const Backends& backends = {});
int run_explain(const Options& options, Streams streams);
int run_verify(const Options& options, Streams streams, const Backends& backends);
int run_fmt(const Options& options, Streams streams);

}  // namespace fspol::driver
