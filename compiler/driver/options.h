#pragma once
// fsc's command line, parsed into one Options value. Printing help and
// usage is the only place fsc writes to stdout besides command output.

#include <cstdint>
#include <string>
#include <vector>

#include "fspol/diagnostics.h"
#include "fspol/result.h"

namespace fspol::driver {

enum class Command : uint8_t { kNone, kHelp, kVersion, kCheck, kFmt, kCompile, kExplain };
enum class ColorMode : uint8_t { kAuto, kAlways, kNever };

struct Options {
  Command command = Command::kNone;
  std::vector<std::string> files;
  ColorMode color = ColorMode::kAuto;
  uint32_t error_limit = 50;
  WarningOptions warnings;
  std::vector<std::string> import_dirs;  // -I, in order
  std::string stdlib_dir;                // --stdlib, else FSPOL_STDLIB_DIR, else built in
  std::vector<std::string> user_files;   // --users
  std::vector<std::string> group_files;  // --groups
  // fmt
  bool fmt_check = false;     // --check: report unformatted files, change nothing
  bool fmt_in_place = false;  // -i: rewrite files in place
  // compile
  std::string emit = "ir";  // --emit=ir
  std::string output;       // -o FILE ("" or "-": stdout)
  bool stats = false;       // --stats
  // explain: files = {POLICY, PATH}
  std::string op;            // --op
  std::string uid = "0";     // --uid (number or name)
  std::string gid = "0";     // --gid
  std::string comm;          // --comm
  std::string type = "file";  // --type
  std::string to;            // --to: rename/link destination
  bool json = false;         // --json
};

// Parses argv (without argv[0]). A usage error comes back as Error.
Result<Options> parse_options(const std::vector<std::string>& args);

// The text of `fsc --help`.
std::string help_text();

}  // namespace fspol::driver
