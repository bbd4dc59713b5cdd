#include "driver/options.h"

#include <charconv>

namespace fspol::driver {

std::string help_text() {
  return R"(usage: fsc <command> [options] FILE...

Compiles .fspol policies for fspol stacked filesystems.

commands:
  check FILE...        parse and check policies; report every error
  fmt FILE...          print policies in canonical form on stdout
      --check          change nothing; exit 1 and name each file that is
                       not in canonical form
      -i, --in-place   rewrite the files in canonical form
  help                 show this text
  version              show the version

options:
  --color=WHEN         colour diagnostics: auto (on a terminal), always, never
  --error-limit=N      stop after N errors (0: no limit; default 50)
  -h, --help           show this text
  --version            show the version

FILE may be '-' for standard input.

exit status: 0 ok, 1 errors in a policy, 2 usage error, 3 I/O error.
)";
}

namespace {

Error usage(std::string message) { return Error{0, std::move(message)}; }

}  // namespace

Result<Options> parse_options(const std::vector<std::string>& args) {
  Options options;
  size_t i = 0;
  // Global flags may come before the command.
  bool only_files = false;
  for (; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (options.command == Command::kNone && !only_files) {
      if (arg == "-h" || arg == "--help" || arg == "help") {
        options.command = Command::kHelp;
        return options;
      }
      if (arg == "--version" || arg == "version") {
        options.command = Command::kVersion;
        return options;
      }
      if (arg == "check") {
        options.command = Command::kCheck;
        continue;
      }
      if (arg == "fmt") {
        options.command = Command::kFmt;
        continue;
      }
    }
    if (only_files || arg == "-" || arg.empty() || arg[0] != '-') {
      if (options.command == Command::kNone) {
        return usage("unknown command '" + arg + "'; expected 'check' or 'fmt'");
      }
      options.files.push_back(arg);
      continue;
    }
    if (arg == "--") {
      only_files = true;
    } else if (arg == "-h" || arg == "--help") {
      options.command = Command::kHelp;
      return options;
    } else if (arg.rfind("--color=", 0) == 0) {
      std::string when = arg.substr(8);
      if (when == "auto") {
        options.color = ColorMode::kAuto;
      } else if (when == "always") {
        options.color = ColorMode::kAlways;
      } else if (when == "never") {
        options.color = ColorMode::kNever;
      } else {
        return usage("--color takes auto, always or never, not '" + when + "'");
      }
    } else if (arg.rfind("--error-limit=", 0) == 0) {
      std::string n = arg.substr(14);
      auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), options.error_limit);
      if (ec != std::errc() || end != n.data() + n.size()) {
        return usage("--error-limit takes a number, not '" + n + "'");
      }
    } else if (options.command == Command::kFmt && arg == "--check") {
      options.fmt_check = true;
    } else if (options.command == Command::kFmt && (arg == "-i" || arg == "--in-place")) {
      options.fmt_in_place = true;
    } else {
      return usage("unknown option '" + arg + "'");
    }
  }
  if (options.command == Command::kNone) return usage("no command given");
  if (options.files.empty()) return usage("no input files");
  if (options.fmt_check && options.fmt_in_place) {
    return usage("fmt takes --check or --in-place, not both");
  }
  return options;
}

}  // namespace fspol::driver
