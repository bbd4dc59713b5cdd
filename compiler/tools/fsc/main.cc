// fsc: the fspol policy compiler. Thin: parse argv, run the driver, exit.

#include <unistd.h>

#include <iostream>
#include <string>
#include <vector>

#include "driver/options.h"
#include "driver/pipeline.h"
#include "fspol/version.h"
#ifdef FSPOL_HAVE_BPF_BUILD
#include "codegen/bpf_build.h"
#endif
#include "verify/bpf_harness.h"

int main(int argc, char** argv) {
  using namespace fspol::driver;
  std::vector<std::string> args(argv + 1, argv + argc);
  auto options = parse_options(args);
  if (!options) {
    std::cerr << "fsc: error: " << options.error().message << "\n"
              << "Run 'fsc --help' for usage.\n";
    return kExitUsage;
  }
  Streams streams{std::cout, std::cerr, ::isatty(STDERR_FILENO) == 1};
  Backends backends;
#ifdef FSPOL_HAVE_BPF_BUILD
  backends.build_bpf = fspol::codegen::build_bpf_object;
#endif
  backends.load_harness = [](const std::string& object,
                             const std::string& name) -> fspol::Result<LoadedHarness> {
    auto loaded = fspol::verify::BpfHarness::load(object, name);
    if (!loaded) return loaded.error();
    std::shared_ptr<fspol::verify::BpfHarness> h = std::move(*loaded);
    LoadedHarness out;
    out.verified_insns = h->verified_insns();
    out.program_insns = h->program_insns();
    out.run = [h](const fsp_harness_req& r) { return h->run(r); };
    return out;
  };
  backends.register_struct_ops = fspol::verify::register_struct_ops;
  switch (options->command) {
    case Command::kHelp:
      std::cout << help_text();
      return kExitOk;
    case Command::kVersion:
      std::cout << "fsc (fspol) " << FSPOL_VERSION << "\n";
      return kExitOk;
    case Command::kCheck:
      return run_check(*options, streams);
    case Command::kFmt:
      return run_fmt(*options, streams);
    case Command::kCompile:
      return run_compile(*options, streams, backends);
    case Command::kExplain:
      return run_explain(*options, streams);
    case Command::kVerify:
      return run_verify(*options, streams, backends);
    case Command::kNone:
      break;
  }
  return kExitUsage;
}
