#pragma once
// fsc's command line, parsed into one Options value. Printing help and
// usage is the only place fsc writes to stdout besides command output.

#include <cstdint>
#include <string>
#include <vector>

#include "fspol/result.h"

namespace fspol::driver {

enum class Command : uint8_t { kNone, kHelp, kVersion, kCheck, kFmt };
enum class ColorMode : uint8_t { kAuto, kAlways, kNever };

struct Options {
  Command command = Command::kNone;
  std::vector<std::string> files;
  ColorMode color = ColorMode::kAuto;
  uint32_t error_limit = 50;
  // fmt
  bool fmt_check = false;     // --check: report unformatted files, change nothing
  bool fmt_in_place = false;  // -i: rewrite files in place
};

// Parses argv (without argv[0]). A usage error comes back as Error.
Result<Options> parse_options(const std::vector<std::string>& args);

// The text of `fsc --help`.
std::string help_text();

}  // namespace fspol::driver
