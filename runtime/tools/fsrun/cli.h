#pragma once
// fsrun's command line, parsed into Args (STYLE 9.9: parsing lives apart
// from the commands). Also understands mount(8)'s helper convention:
// invoked as mount.fspol, argv is `SPEC DIR [-sfnv] [-o options]`, SPEC
// is the lower directory and the policy comes from `-o policy=FILE`.

#include <string>
#include <vector>

#include "fspol/compiler.h"

namespace fsrun {

enum class Command { kHelp, kMount, kUmount, kStatus, kReload };

struct Args {
  Command command = Command::kHelp;
  std::string policy;
  std::string lower;
  std::string mountpoint;
  std::vector<std::string> option_lists;  // each -o argument
  // How the policy is compiled: -I, --stdlib, --users, --groups, -W as
  // for fsc.
  fspol::CompileOptions compile;
  bool foreground = false;
  bool json = false;  // status --json
  bool debug = false;
  bool help = false;  // -h anywhere
};

// Returns "" on success, else the usage error.
std::string parse_args(int argc, char** argv, Args& args);
const char* help_text();

}  // namespace fsrun
