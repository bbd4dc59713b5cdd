#pragma once
// fsc's commands, built on the compiler's one list of stages
// (fspol/compiler.h).
//
// Every command compiles each file through one Compiler, prints the
// diagnostics of all files sorted, and maps the outcome to an exit
// status: 0 ok, 1 errors in a policy (also a module where a policy is
// needed), 2 usage errors, 3 I/O errors (which win).

#include <iosfwd>

#include "driver/options.h"

namespace fspol::driver {

enum ExitCode : int { kExitOk = 0, kExitPolicyError = 1, kExitUsage = 2, kExitIo = 3 };

struct Streams {
  std::ostream& out;
  std::ostream& err;
  bool err_is_tty = false;
};

int run_check(const Options& options, Streams streams);
int run_compile(const Options& options, Streams streams);
int run_explain(const Options& options, Streams streams);
int run_fmt(const Options& options, Streams streams);

}  // namespace fspol::driver
