#pragma once
// fsc's command line, parsed into one Options value. Printing help and
// usage is the only place fsc writes to stdout besides command output.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fspol/compiler.h"
#include "fspol/diagnostics.h"
#include "fspol/result.h"

namespace fspol::driver {

enum class Command : uint8_t { kNone, kHelp, kVersion, kCheck, kFmt, kCompile, kExplain, kVerify };
enum class ColorMode : uint8_t { kAuto, kAlways, kNever };

struct Options {
  Command command = Command::kNone;
  std::vector<std::string> files;
  ColorMode color = ColorMode::kAuto;
  bool diagnostics_json = false;  // --diagnostics-format=json
  // -I, --stdlib, --users, --groups, -W..., --error-limit: how policies
  // are compiled (fspol/compiler.h).
  CompileOptions compile;
  // fmt
  bool fmt_check = false;     // --check: report unformatted files, change nothing
  bool fmt_in_place = false;  // -i: rewrite files in place
  // compile
  std::vector<std::string> emit;    // --emit=KIND[,KIND]: artefact kinds (empty: ir, or all
                                    // for -o DIR)
  std::string output;               // -o FILE or DIR ("" or "-": stdout)
  std::string expect_name;          // compile --name: the policy must be named so
  std::string depfile;              // compile --depfile: the files read, for make
  bool stats = false;               // --stats
  std::string target = "fspol-6.1";  // --target: the kernel profile (plan/profiles.def)
  uint32_t random_names = 32;        // verify --random-names=N per program set
  // explain: files = {POLICY, PATH}
  std::string op;            // --op
  std::string uid = "0";     // --uid (number or name)
  std::string gid = "0";     // --gid
  std::string comm;          // --comm
  std::string type = "file";  // --type
  std::string to;            // --to: rename/link destination
  bool json = false;         // --json (explain, and compile --emit=plan)
};

// Parses argv (without argv[0]). A usage error comes back as Error.
Result<Options> parse_options(const std::vector<std::string>& args);

// What `fsc compile --emit=` can produce (and "all": every one of them).
inline constexpr std::string_view kArtifactKinds[] = {
    "ir", "plan", "bpf-c", "harness-c", "bpf-obj", "harness-obj", "skeleton", "stub"};
bool is_artifact_kind(std::string_view kind);

// The text of `fsc --help`.
std::string help_text();

}  // namespace fspol::driver
