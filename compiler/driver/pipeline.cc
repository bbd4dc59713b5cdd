#include "driver/pipeline.h"

#include <fcntl.h>
#include <memory>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <optional>
#include <ostream>
#include <tuple>

#include "codegen/bpf_c.h"
#include "codegen/skeleton.h"
#include "codegen/stub.h"
#include "driver/explain.h"
#include "fspol/compiler.h"
#include "fspol/diagnostics.h"
#include "ir/ir_eval.h"
#include "ir/ir_printer.h"
#include "ir/lower.h"
#include "plan/plan.h"
#include "sema/check.h"
#include "sema/resolve.h"
#include "support/json.h"
#include "syntax/parser.h"
#include "syntax/printer.h"
#include "verify/verify_policy.h"

namespace fspol::driver {

namespace {

// Where Debian keeps <asm/types.h> for BPF C built against the system
// headers.
#if defined(__x86_64__)
constexpr const char* kMultiarchInclude = "/usr/include/x86_64-linux-gnu";
#elif defined(__aarch64__)
constexpr const char* kMultiarchInclude = "/usr/include/aarch64-linux-gnu";
#else
#error "add this architecture's Debian multiarch include directory"
#endif

bool use_color(const Options& options, const Streams& streams) {
  switch (options.color) {
    case ColorMode::kAlways: return true;
    case ColorMode::kNever: return false;
    case ColorMode::kAuto: return streams.err_is_tty && std::getenv("NO_COLOR") == nullptr;
  }
  return false;
}

// One run of a command: the compiler (sources, diagnostics, the stages)
// and whether a file could not be read or a command-level check failed.
class Session {
 public:
  Session(const Options& options, Streams streams)
      : options_(options), streams_(streams), compiler_(options.compile) {}

  Compiler& compiler() { return compiler_; }
  const SourceManager& sources() { return compiler_.sources(); }
  // Every stage for `path`; nullptr when it stopped early (see compiler.h).
  const Unit* analyze(const std::string& path) { return compiler_.compile(path); }
  void fail_io(const std::string& message) { io_messages_.push_back(message); }
  void fail_policy() { policy_failed_ = true; }
  void wrote(const std::string& path) { written_.push_back(path); }
  const std::vector<std::string>& written() const { return written_; }

  int finish() {
    bool json = options_.diagnostics_json;
    const std::vector<std::string>* lists[] = {&compiler_.io_errors(), &io_messages_};
    for (const std::vector<std::string>* list : lists) {
      for (const std::string& m : *list) {
        // As JSON, an I/O error is a diagnostic without a location.
        if (json) compiler_.diagnostics().error(SourceRange{}, m);
        if (!json) streams_.err << "fsc: error: " << m << '\n';
      }
    }
    compiler_.render(streams_.err, RenderOptions{!json && use_color(options_, streams_), json});
    if (compiler_.io_failed() || !io_messages_.empty()) return kExitIo;
    if (compiler_.diagnostics().has_errors() || policy_failed_) return kExitPolicyError;
    return kExitOk;
  }

 private:
  const Options& options_;
  Streams streams_;
  Compiler compiler_;
  std::vector<std::string> io_messages_;
  bool policy_failed_ = false;
  std::vector<std::string> written_;
};

// Replaces `path` with `text` atomically: a reader sees the old or the new
// file, never half of one, and a failure leaves the old file in place.
Result<void> write_atomically(const std::string& path, const std::string& text) {
  // The new file keeps the old one's mode; a first one gets the mode
  // open(2) would give it.
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) return Error{errno, path + ": cannot stat: " + std::strerror(errno)};
    mode_t mask = ::umask(0);
    ::umask(mask);
    st.st_mode = 0666 & ~mask;
  }
  std::string tmp = path + ".fsc-XXXXXX";
  int fd = ::mkstemp(tmp.data());
  if (fd < 0) return Error{errno, tmp + ": cannot create: " + std::strerror(errno)};
  auto fail = [&](const char* what) {
    int saved = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return Error{saved, path + ": " + what + ": " + std::strerror(saved)};
  };
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail("cannot write");
    done += static_cast<size_t>(n);
  }
  if (::fchmod(fd, st.st_mode & 07777) != 0) return fail("cannot set mode");
  if (::fsync(fd) != 0) return fail("cannot sync");
  if (::close(fd) != 0) {
    int saved = errno;
    ::unlink(tmp.c_str());
    return Error{saved, path + ": cannot close: " + std::strerror(saved)};
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int saved = errno;
    ::unlink(tmp.c_str());
    return Error{saved, path + ": cannot replace: " + std::strerror(saved)};
  }
  return {};
}

}  // namespace

int run_check(const Options& options, Streams streams) {
  Session session(options, streams);
  for (const std::string& path : options.files) (void)session.analyze(path);
  return session.finish();
}

namespace {

// A file's text to `path` ("" or "-": the stream).
bool write_output(const std::string& path, const std::string& text, std::ostream& out,
                  Session& session) {
  if (path.empty() || path == "-") {
    out << text;
    return true;
  }
  auto written = write_atomically(path, text);
  if (!written) session.fail_io(written.error().message);
  if (written) session.wrote(path);
  return written.ok();
}

// `path` with spaces and '#' escaped for make.
std::string make_escaped(const std::string& path) {
  std::string out;
  for (char c : path) {
    if (c == ' ' || c == '#') out += '\\';
    if (c == '$') out += '$';
    out += c;
  }
  return out;
}

// The artefacts written depend on the policy and every module it read.
bool write_depfile(const std::string& depfile, Session& session, std::ostream& out) {
  std::string rule;
  for (const std::string& target : session.written())
    rule += (rule.empty() ? "" : " ") + make_escaped(target);
  if (rule.empty()) rule = "-";
  rule += ":";
  const SourceManager& sources = session.sources();
  for (FileId id = 1; id <= sources.count(); ++id) {
    const std::string& path = sources.file(id).disk_path();
    if (!path.empty()) rule += " " + make_escaped(path);
  }
  return write_output(depfile, rule + "\n", out, session);
}

}  // namespace

// Every stage for a policy; a module (which has no IR) is a usage mistake.
const ir::Policy* analyze_policy(Session& session, const std::string& path, const char* verb,
                                 const std::string& expect_name) {
  const Unit* unit = session.analyze(path);
  if (unit == nullptr) return nullptr;
  if (!unit->program->is_policy) {
    session.compiler().diagnostics().error(
        unit->parsed->ast.header, "'" + unit->program->name + "' is a module, not a policy; " +
                                      verb + " a policy that imports and uses it");
    return nullptr;
  }
  if (!expect_name.empty() && unit->program->name != expect_name) {
    session.compiler().diagnostics().error(
        unit->parsed->ast.header, "the policy is named '" + unit->program->name + "', not '" +
                                      expect_name + "' (--name: the name its artefacts carry)");
    return nullptr;
  }
  return unit->policy.get();
}

namespace {

// The file an artefact kind goes to in a directory.
std::string artifact_file(const std::string& stem, std::string_view kind, bool json) {
  if (kind == "ir") return stem + ".ir";
  if (kind == "plan") return stem + (json ? ".plan.json" : ".plan");
  if (kind == "bpf-c") return stem + ".bpf.c";
  if (kind == "harness-c") return stem + ".harness.bpf.c";
  if (kind == "bpf-obj") return stem + ".bpf.o";
  if (kind == "skeleton") return stem + ".skel.h";
  if (kind == "stub") return stem + "_stub.cc";
  return stem + ".harness.bpf.o";
}

bool is_directory(const std::string& path) {
  struct stat st {};
  return !path.empty() && ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace

// The BPF object of generated C, built in process; clang's messages come
// back at the .fspol lines the C's #line directives name.
std::optional<std::string> build_object(Session& session, const Backends& backends,
                                        const std::string& name, const std::string& text,
                                        std::ostream& err) {
  if (!backends.build_bpf) {
    session.fail_io("this fsc was built without the in-process BPF build (libclang-cpp19-dev)");
    return std::nullopt;
  }
  codegen::BpfSource source;
  source.main_name = name;
  source.main_text = text;
  source.headers = codegen::bpf_headers();
  source.include_dirs = {"/usr/include", kMultiarchInclude};
  codegen::BpfBuildResult built = backends.build_bpf(source);
  for (const codegen::BpfDiagnostic& d : built.diagnostics) {
    const char* what = d.severity == codegen::BpfDiagnostic::Severity::kError     ? "error"
                       : d.severity == codegen::BpfDiagnostic::Severity::kWarning ? "warning"
                                                                                  : "note";
    err << d.file << ":" << d.line << ":" << d.column << ": " << what
        << ": in the generated BPF C: " << d.message << "\n";
  }
  if (!built.ok) {
    session.fail_policy();
    return std::nullopt;
  }
  return std::move(built.object);
}

// The plan for a target; the rules no executor can apply there are errors.
std::optional<plan::Plan> plan_policy(Session& session, const ir::Policy& policy,
                                      const std::string& target) {
  plan::Plan planned = plan::make_plan(policy, *plan::profile_from_name(target));
  for (const plan::Plan::Problem& p : planned.problems) {
    const ir::Rule& rule = policy.rules[p.rule];
    Diagnostic& d = session.compiler().diagnostics().error(rule.range, p.message);
    for (const SourceRange& use : rule.via_ranges) d.note(use, "rule used here");
  }
  if (!planned.problems.empty()) return std::nullopt;
  return planned;
}

int run_compile(const Options& options, Streams streams, const Backends& backends) {
  Session session(options, streams);
  const ir::Policy* analyzed =
      analyze_policy(session, options.files[0], "compile", options.expect_name);
  if (analyzed == nullptr) return session.finish();
  const ir::Policy& policy = *analyzed;
  if (options.stats) {
    const ir::Stats& s = policy.stats;
    streams.out << "rules: " << s.rules << "\nselectors: " << s.selectors
                << "\nnfa states: " << s.dfa.nfa_states
                << "\ndfa states before minimisation: " << s.dfa.dfa_states_before_minimization
                << "\ndfa states: " << s.dfa.dfa_states << "\ninput classes: " << s.dfa.input_classes
                << "\npath classes: " << s.path_classes << "\n";
    if (options.output.empty() && options.emit.empty()) return session.finish();
  }
  std::vector<std::string> kinds = options.emit;
  bool to_dir = is_directory(options.output);
  if (kinds.empty()) kinds = {to_dir ? "all" : "ir"};
  if (std::find(kinds.begin(), kinds.end(), "all") != kinds.end()) {
    kinds.assign(std::begin(kArtifactKinds), std::end(kArtifactKinds));
  }
  to_dir = to_dir || kinds.size() > 1;
  if (to_dir && !is_directory(options.output)) {
    session.fail_io((options.output.empty() ? std::string("several artefacts") : options.output) +
                    ": -o must name an existing directory for several artefacts");
    return session.finish();
  }

  bool needs_plan = kinds.size() > 1 || kinds[0] != "ir";
  std::optional<plan::Plan> planned;
  std::optional<codegen::BpfFiles> c_files;
  if (needs_plan) {
    planned = plan_policy(session, policy, options.target);
    if (!planned) return session.finish();
    c_files = codegen::emit_bpf_c(policy, *planned, policy.name);
  }
  std::optional<std::string> ops_object;  // built once for bpf-obj and the skeleton
  for (const std::string& kind : kinds) {
    std::string text;
    if (kind == "ir") {
      text = ir::print_ir(policy);
    } else if (kind == "plan") {
      text = options.json ? plan::print_plan_json(policy, *planned) : plan::print_plan(policy, *planned);
    } else if (kind == "bpf-c") {
      text = c_files->bpf_c;
    } else if (kind == "harness-c") {
      text = c_files->harness_c;
    } else if (kind == "stub") {
      if (!to_dir) {
        session.fail_io("--emit=stub writes two files (" + policy.name + "_stub.h and " +
                        policy.name + "_stub.cc): -o must name a directory");
        return session.finish();
      }
      codegen::StubFiles stub =
          codegen::emit_stub(policy, *planned, artifact_file(policy.name, "skeleton", false));
      if (!write_output(options.output + "/" + policy.name + "_stub.h", stub.header, streams.out,
                        session)) {
        return session.finish();
      }
      text = std::move(stub.source);
    } else if (kind == "skeleton") {
      if (!ops_object) ops_object = build_object(session, backends, policy.name + ".bpf.c", c_files->bpf_c, streams.err);
      if (!ops_object) return session.finish();
      text = codegen::emit_skeleton(policy, *planned, *ops_object);
    } else {
      bool harness = kind == "harness-obj";
      auto object = build_object(session, backends, artifact_file(policy.name, harness ? "harness-c" : "bpf-c", false),
                                 harness ? c_files->harness_c : c_files->bpf_c, streams.err);
      if (!object) return session.finish();
      if (!harness) ops_object = *object;
      text = std::move(*object);
    }
    std::string path = to_dir ? options.output + "/" + artifact_file(policy.name, kind, options.json)
                              : options.output;
    if (!write_output(path, text, streams.out, session)) return session.finish();
  }
  if (to_dir && c_files) {
    // The headers the C includes, so that it builds with clang -I DIR too.
    for (const auto& [name, text] : codegen::bpf_headers()) {
      if (!write_output(options.output + "/" + name, text, streams.out, session)) break;
    }
  }
  if (!options.depfile.empty()) write_depfile(options.depfile, session, streams.out);
  return session.finish();
}

int run_verify(const Options& options, Streams streams, const Backends& backends) {
  Session session(options, streams);
  const ir::Policy* analyzed = analyze_policy(session, options.files[0], "verify", "");
  if (analyzed == nullptr) return session.finish();
  const ir::Policy& policy = *analyzed;
  auto planned = plan_policy(session, policy, options.target);
  if (!planned) return session.finish();
  codegen::BpfFiles c_files = codegen::emit_bpf_c(policy, *planned, policy.name);
  std::string harness_name = policy.name + ".harness.bpf.c";
  auto harness_obj = build_object(session, backends, harness_name, c_files.harness_c, streams.err);
  if (!harness_obj) return session.finish();
  auto ops_obj = build_object(session, backends, policy.name + ".bpf.c", c_files.bpf_c, streams.err);
  if (!ops_obj) return session.finish();
  size_t states = 0;
  for (const plan::ProgramSet& set : planned->sets) states += !set.passthrough;
  const plan::ProfileInfo& profile = plan::profile_info(planned->profile);
  streams.out << policy.name << ": " << states << " node states with programs";
  if (profile.node_states && states > 0) streams.out << " (one program set)";
  streams.out << " for " << profile.name << "; objects: " << ops_obj->size()
              << " bytes (fuse_ops), " << harness_obj->size() << " bytes (harness)\n";

  auto loaded = backends.load_harness(*harness_obj, policy.name + "_harness");
  if (!loaded) {
    int code = loaded.error().code;
    streams.err << "fsc: error: " << loaded.error().message << "\n";
    if (code == EPERM || code == EACCES) {
      streams.err << "fsc: verify needs the permission to load BPF programs (root or "
                     "CAP_BPF+CAP_PERFMON)\n";
      (void)session.finish();
      return kExitNoBpfPermission;
    }
    session.fail_policy();
    return session.finish();
  }
  streams.out << "harness fsp_harness: " << loaded->program_insns << " instructions, "
              << loaded->verified_insns << " processed by the verifier\n";
  auto report = verify::differential(policy, *planned, loaded->run, options.random_names);
  if (!report) {
    session.fail_io(report.error().message);
    return session.finish();
  }
  streams.out << "differential: " << report->agreed << " of " << report->requests
              << " requests agree with ir_eval; " << report->daemon
              << " decided by the daemon on this profile\n";
  for (const std::string& m : report->mismatches) streams.err << "fsc: mismatch: " << m << "\n";
  if (!report->mismatches.empty()) session.fail_policy();

  auto registered = backends.register_struct_ops(*ops_obj, policy.name);
  if (registered) {
    streams.out << "fuse_ops: " << *registered << " program sets registered and removed\n";
  } else if (registered.error().code == ENOTSUP) {
    streams.out << "fuse_ops: not registered: " << registered.error().message
                << " (the kernel tier's VM has it)\n";
  } else {
    streams.err << "fsc: error: " << registered.error().message << "\n";
    session.fail_policy();
  }
  return session.finish();
}

namespace {

// The words of one request, as `fsc explain` takes them on its command
// line or a batch line gives them.
struct RequestWords {
  std::string op, path, uid, gid, comm, type, to;
};

// A Request from its words; an error message when a word is malformed.
Result<ir::Request> make_request(Session& session, const RequestWords& words) {
  ir::Request request;
  request.path = words.path;
  if (!ir::parse_op(words.op, request.op)) {
    return Error{0, "unknown operation '" + words.op +
                        "' (lookup, stat, readdir, read, write, exec, create, delete, rename, "
                        "link, chmod, chown, truncate, utimes, xattr_read, xattr_write, lock)"};
  }
  request.type = syntax::file_type_from_name(words.type);
  if (!request.type) return Error{0, "unknown file type '" + words.type + "'"};
  for (auto [text, out, group] : {std::tuple{&words.uid, &request.caller.uid, false},
                                  std::tuple{&words.gid, &request.caller.gid, true}}) {
    char* end = nullptr;
    unsigned long n = std::strtoul(text->c_str(), &end, 10);
    if (!text->empty() && *end == '\0' && n <= 0xfffffffeUL) {
      *out = static_cast<uint32_t>(n);
      continue;
    }
    auto named = group ? session.compiler().ids().group(*text) : session.compiler().ids().user(*text);
    if (!named)
      return Error{0, "unknown " + std::string(group ? "group" : "user") + " '" + *text + "'"};
    *out = *named;
  }
  // N.B. request.caller.comm views words.comm: words outlives the request.
  request.caller.comm = words.comm;
  if (!words.to.empty()) request.new_path = words.to;
  return request;
}

// %XX escapes of a batch word (values with spaces are written %20, as in
// the self-test tables).
std::string unescape(std::string_view word) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (size_t i = 0; i < word.size(); ++i) {
    if (word[i] == '%' && i + 2 < word.size() && hex(word[i + 1]) >= 0 && hex(word[i + 2]) >= 0) {
      out += static_cast<char>(hex(word[i + 1]) * 16 + hex(word[i + 2]));
      i += 2;
    } else {
      out += word[i];
    }
  }
  return out;
}

// One batch line, `OP PATH [uid=U] [gid=G] [comm=NAME] [type=T] [to=PATH]`,
// over the command line's values as defaults.
Result<RequestWords> parse_batch_line(const std::string& line, RequestWords words) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    size_t j = i;
    while (j < line.size() && line[j] != ' ' && line[j] != '\t') ++j;
    if (j > i) parts.push_back(line.substr(i, j - i));
    i = j;
  }
  if (parts.size() < 2) return Error{0, "expected 'OP PATH [key=value...]'"};
  words.op = parts[0];
  words.path = unescape(parts[1]);
  for (size_t k = 2; k < parts.size(); ++k) {
    size_t eq = parts[k].find('=');
    std::string key = parts[k].substr(0, eq);
    if (eq == std::string::npos ||
        (key != "uid" && key != "gid" && key != "comm" && key != "type" && key != "to")) {
      return Error{0, "unknown word '" + parts[k] + "' (uid=, gid=, comm=, type=, to=)"};
    }
    std::string value = unescape(std::string_view(parts[k]).substr(eq + 1));
    if (key == "uid") words.uid = value;
    if (key == "gid") words.gid = value;
    if (key == "comm") words.comm = value;
    if (key == "type") words.type = value;
    if (key == "to") words.to = value;
  }
  return words;
}

// `fsc explain POLICY -`: the policy is compiled once, then every line of
// standard input is one request and gets one answer, flushed at once, so a
// test can keep fsc as a coprocess (loading fsc costs tens of
// milliseconds, a request microseconds). A malformed line answers with an
// error (a JSON object {"error": ...} with --json) and the exit status is
// then 2.
int run_explain_batch(Session& session, const ir::Policy& policy, const Options& options,
                      const RequestWords& defaults, Streams streams) {
  bool malformed = false;
  std::string line;
  for (size_t number = 1; std::getline(std::cin, line); ++number) {
    std::string_view trimmed = line;
    while (!trimmed.empty() && (trimmed.front() == ' ' || trimmed.front() == '\t')) {
      trimmed.remove_prefix(1);
    }
    if (trimmed.empty() || trimmed.front() == '#') continue;
    auto words = parse_batch_line(line, defaults);
    Result<ir::Request> request =
        words ? make_request(session, *words) : Result<ir::Request>(words.error());
    Result<ir::Verdict> verdict =
        request ? ir::evaluate(policy, *request) : Result<ir::Verdict>(request.error());
    if (!verdict) {
      malformed = true;
      std::string message = "<stdin>:" + std::to_string(number) + ": " + verdict.error().message;
      if (options.json) {
        streams.out << "{\"error\": " << json_quote(message) << "}\n";
      } else {
        streams.out << "error: " << message << "\n\n";
      }
    } else {
      streams.out << (options.json ? explain_json(policy, *request, *verdict)
                                   : explain_text(policy, *request, *verdict) + "\n");
    }
    streams.out.flush();
  }
  int status = session.finish();
  return status != kExitOk ? status : malformed ? kExitUsage : kExitOk;
}

}  // namespace

int run_explain(const Options& options, Streams streams) {
  Session session(options, streams);
  RequestWords defaults{options.op,   options.files[1], options.uid, options.gid,
                        options.comm, options.type,     options.to};
  bool batch = options.files[1] == "-";
  Result<ir::Request> request = ir::Request{};
  if (!batch) {
    request = make_request(session, defaults);
    if (!request) {
      streams.err << "fsc: error: " << request.error().message << "\n";
      return kExitUsage;
    }
  }

  const ir::Policy* analyzed = analyze_policy(session, options.files[0], "explain", "");
  if (analyzed == nullptr) return session.finish();
  const ir::Policy& policy = *analyzed;
  if (batch) return run_explain_batch(session, policy, options, defaults, streams);
  auto verdict = ir::evaluate(policy, *request);
  if (!verdict) {
    streams.err << "fsc: error: " << verdict.error().message << "\n";
    return kExitUsage;
  }
  streams.out << (options.json ? explain_json(policy, *request, *verdict)
                               : explain_text(policy, *request, *verdict));
  return session.finish();
}

int run_fmt(const Options& options, Streams streams) {
  Session session(options, streams);
  for (const std::string& path : options.files) {
    if (options.fmt_in_place && path == "-") {
      session.fail_io("-i cannot rewrite standard input");
      continue;
    }
    FileId id = 0;
    const syntax::ParsedFile* parsed = session.compiler().parse(path, id);
    if (parsed == nullptr) continue;
    const SourceFile& source = session.sources().file(id);
    std::string formatted = syntax::format_file(*parsed, source);
    bool changed = formatted != source.text();
    if (options.fmt_check) {
      if (changed) {
        streams.err << source.path() << ": not in canonical form (fsc fmt -i fixes it)\n";
        session.fail_policy();
      }
    } else if (options.fmt_in_place) {
      if (!changed) continue;
      auto written = write_atomically(path, formatted);
      if (!written) session.fail_io(written.error().message);
    } else {
      streams.out << formatted;
    }
  }
  streams.out.flush();
  return session.finish();
}

}  // namespace fspol::driver
