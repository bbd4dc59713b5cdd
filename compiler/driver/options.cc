#include "driver/options.h"

#include <algorithm>
#include <charconv>
#include <optional>

#include "plan/plan.h"

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
  compile POLICY       compile a policy
      --emit=KIND[,KIND...]
                       what to produce: ir (the policy IR, the default),
                       plan (where each decision runs), bpf-c (the
                       fuse_ops programs), harness-c (the same filters as
                       test programs), bpf-obj, harness-obj (built in
                       process), skeleton (a C header embedding bpf-obj,
                       with libbpf load/attach helpers), stub (C++ stubs
                       for libfspol_runtime: POLICY-NAME_stub.h and .cc),
                       or all
      -o FILE|DIR      write to FILE instead of stdout; with several kinds,
                       all, or an existing directory: POLICY-NAME.* in DIR
      --target=T       the kernel profile: fspol-6.1 (default) or rfc-v3
      --json           the plan as JSON
      --stats          print automaton and path-class statistics
      --name=NAME      fail unless the policy is named NAME (build rules
                       that name the artefacts before compiling)
      --depfile=FILE   write the policy and every module it imports, as
                       a make rule for the artefacts written
  verify POLICY [--target=T] [--random-names=N]
                       load the policy's filters into the running kernel:
                       the test harness with BPF_PROG_TEST_RUN, compared
                       with the policy's meaning (ir_eval) on generated
                       requests; on a fuse-bpf kernel also the fuse_ops
                       program sets, registered and removed again
  explain POLICY PATH --op OP [--uid U] [--gid G] [--comm NAME]
          [--type TYPE] [--to PATH] [--json]
                       how the policy decides one request: the verdict,
                       the rules (file:line) and the path class; U and G
                       are numbers or names (default 0), TYPE is file,
                       dir, symlink, fifo, socket, chardev or blockdev
                       (default file), --to is the new path of a rename
                       or link; PATH '-' reads requests from standard
                       input, one per line: OP PATH [uid=U] [gid=G]
                       [comm=NAME] [type=T] [to=PATH] (the options above
                       are the defaults), and answers each at once
  help                 show this text
  version              show the version

options:
  -I DIR               look for imported modules in DIR (before the stdlib)
  --stdlib=DIR         the stdlib modules directory (default: $FSPOL_STDLIB_DIR,
                       else the one fsc was built or installed with)
  --users=FILE         more user names, from a passwd-format FILE
  --groups=FILE        more group names, from a group-format FILE
  -Werror              treat warnings as errors
  -Wno-NAME            turn off warning NAME (as shown after a warning)
  --color=WHEN         colour diagnostics: auto (on a terminal), always, never
  --diagnostics-format=text|json
                       diagnostics as text (default) or as one JSON
                       document on stderr (docs/fsc.md)
  --error-limit=N      stop after N errors (0: no limit; default 50)
  -h, --help           show this text
  --version            show the version

FILE may be '-' for standard input.

exit status: 0 ok, 1 errors in a policy (or, for verify, filters that disagree
with it), 2 usage error, 3 I/O error, 4 no permission to load BPF (verify).
)";
}

namespace {

Error usage(std::string message) { return Error{0, std::move(message)}; }

}  // namespace

bool is_artifact_kind(std::string_view kind) {
  for (std::string_view k : kArtifactKinds) {
    if (kind == k) return true;
  }
  return kind == "all";
}

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
      if (arg == "compile") {
        options.command = Command::kCompile;
        continue;
      }
      if (arg == "explain") {
        options.command = Command::kExplain;
        continue;
      }
      if (arg == "verify") {
        options.command = Command::kVerify;
        continue;
      }
    }
    if (only_files || arg == "-" || arg.empty() || arg[0] != '-') {
      if (options.command == Command::kNone) {
        return usage("unknown command '" + arg + "'; expected check, fmt, compile, verify or explain");
      }
      options.files.push_back(arg);
      continue;
    }
    auto value = [&](const std::string& flag) -> std::optional<std::string> {
      if (arg.rfind(flag + "=", 0) == 0) return arg.substr(flag.size() + 1);
      return std::nullopt;
    };
    if (arg == "--") {
      only_files = true;
    } else if (arg == "-I" || (arg.rfind("-I", 0) == 0 && arg.size() > 2)) {
      if (arg.size() > 2) {
        options.compile.import_dirs.push_back(arg.substr(2));
      } else if (i + 1 < args.size()) {
        options.compile.import_dirs.push_back(args[++i]);
      } else {
        return usage("-I needs a directory");
      }
    } else if (auto dir = value("--stdlib")) {
      options.compile.stdlib_dir = *dir;
    } else if (auto users = value("--users")) {
      options.compile.user_files.push_back(*users);
    } else if (auto groups = value("--groups")) {
      options.compile.group_files.push_back(*groups);
    } else if (arg == "-Werror") {
      options.compile.warnings.as_errors = true;
    } else if (arg.rfind("-Wno-", 0) == 0 && arg.size() > 5) {
      options.compile.warnings.disabled.push_back(arg.substr(5));
    } else if (arg.rfind("-W", 0) == 0 && arg.size() > 2) {
      auto& off = options.compile.warnings.disabled;
      off.erase(std::remove(off.begin(), off.end(), arg.substr(2)), off.end());
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
    } else if (arg.rfind("--diagnostics-format=", 0) == 0) {
      std::string format = arg.substr(21);
      if (format != "text" && format != "json") {
        return usage("--diagnostics-format takes text or json, not '" + format + "'");
      }
      options.diagnostics_json = format == "json";
    } else if (arg.rfind("--error-limit=", 0) == 0) {
      std::string n = arg.substr(14);
      auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), options.compile.error_limit);
      if (ec != std::errc() || end != n.data() + n.size()) {
        return usage("--error-limit takes a number, not '" + n + "'");
      }
    } else if (options.command == Command::kCompile && value("--emit")) {
      std::string list = *value("--emit");
      size_t start = 0;
      while (start <= list.size()) {
        size_t comma = std::min(list.find(',', start), list.size());
        std::string kind = list.substr(start, comma - start);
        if (!is_artifact_kind(kind)) {
          return usage(
              "--emit takes ir, plan, bpf-c, harness-c, bpf-obj, harness-obj, skeleton, stub or "
              "all, not '" +
              kind + "'");
        }
        options.emit.push_back(kind);
        start = comma + 1;
      }
    } else if ((options.command == Command::kCompile || options.command == Command::kVerify) &&
               value("--target")) {
      options.target = *value("--target");
    } else if (options.command == Command::kVerify && value("--random-names")) {
      std::string n = *value("--random-names");
      auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), options.random_names);
      if (ec != std::errc() || end != n.data() + n.size()) {
        return usage("--random-names takes a number, not '" + n + "'");
      }
    } else if (options.command == Command::kCompile && arg == "--json") {
      options.json = true;
    } else if (options.command == Command::kCompile && arg == "-o") {
      if (i + 1 >= args.size()) return usage("-o needs a file");
      options.output = args[++i];
    } else if (options.command == Command::kCompile && value("--name")) {
      options.expect_name = *value("--name");
    } else if (options.command == Command::kCompile && value("--depfile")) {
      options.depfile = *value("--depfile");
    } else if (options.command == Command::kCompile && arg == "--stats") {
      options.stats = true;
    } else if (options.command == Command::kExplain && arg == "--json") {
      options.json = true;
    } else if (options.command == Command::kExplain &&
               (arg == "--op" || arg == "--uid" || arg == "--gid" || arg == "--comm" ||
                arg == "--type" || arg == "--to" || value("--op") || value("--uid") ||
                value("--gid") || value("--comm") || value("--type") || value("--to"))) {
      std::string flag = arg.substr(0, arg.find('='));
      std::string text;
      if (arg.find('=') != std::string::npos) {
        text = arg.substr(arg.find('=') + 1);
      } else if (i + 1 < args.size()) {
        text = args[++i];
      } else {
        return usage(flag + " needs a value");
      }
      if (flag == "--op") options.op = text;
      if (flag == "--uid") options.uid = text;
      if (flag == "--gid") options.gid = text;
      if (flag == "--comm") options.comm = text;
      if (flag == "--type") options.type = text;
      if (flag == "--to") options.to = text;
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
  if ((options.command == Command::kCompile || options.command == Command::kVerify) &&
      options.files.size() != 1) {
    return usage(std::string(options.command == Command::kCompile ? "compile" : "verify") +
                 " takes one policy");
  }
  if (options.command == Command::kExplain) {
    if (options.files.size() != 2) return usage("explain takes a policy and a path");
    bool batch = options.files[1] == "-";
    if (batch && options.files[0] == "-") {
      return usage("explain - reads requests from standard input; give the policy as a file");
    }
    if (options.op.empty() && !batch) {
      return usage("explain needs --op OP (read, write, create, ...)");
    }
  }
  if (!plan::profile_from_name(options.target)) {
    return usage("--target takes " + plan::profile_names() + ", not '" + options.target + "'");
  }
  if (options.fmt_check && options.fmt_in_place) {
    return usage("fmt takes --check or --in-place, not both");
  }
  return options;
}

}  // namespace fspol::driver
