// fsc: the fspol policy compiler. Thin: parse argv, run the driver, exit.

#include <unistd.h>

#include <iostream>
#include <string>
#include <vector>

#include "driver/options.h"
#include "driver/pipeline.h"
#include "fspol/version.h"

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
      return run_compile(*options, streams);
    case Command::kExplain:
      return run_explain(*options, streams);
    case Command::kNone:
      break;
  }
  return kExitUsage;
}
