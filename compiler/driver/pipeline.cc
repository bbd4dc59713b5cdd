#include "driver/pipeline.h"

#include <fcntl.h>
#include <memory>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <tuple>
#include <ostream>

#include "fspol/diagnostics.h"
#include "driver/explain.h"
#include "ir/ir_eval.h"
#include "ir/ir_printer.h"
#include "ir/lower.h"
#include "sema/check.h"
#include "sema/resolve.h"
#include "verify/verify_policy.h"
#include "syntax/parser.h"
#include "syntax/printer.h"

// Set by CMake for the compiler library; other builds of this file (the
// fuzzer) never resolve imports.
#ifndef FSPOL_STDLIB_DIR
#define FSPOL_STDLIB_DIR "stdlib/policies"
#endif

namespace fspol::driver {

namespace {

bool use_color(const Options& options, const Streams& streams) {
  switch (options.color) {
    case ColorMode::kAlways: return true;
    case ColorMode::kNever: return false;
    case ColorMode::kAuto: return streams.err_is_tty && std::getenv("NO_COLOR") == nullptr;
  }
  return false;
}

// One compilation: the sources, the diagnostics sink, and whether any file
// could not be read.
class Session {
 public:
  Session(const Options& options, Streams streams)
      : options_(options), streams_(streams), diags_(options.error_limit) {
    diags_.set_warning_options(options.warnings);
  }

  // The semantic context: module search path and id tables. Unreadable
  // --users/--groups files are I/O errors.
  sema::SemaContext sema_context() {
    sema::SemaContext ctx{sources_, diags_, options_.import_dirs, {}};
    std::string stdlib = options_.stdlib_dir;
    if (stdlib.empty() && std::getenv("FSPOL_STDLIB_DIR")) stdlib = std::getenv("FSPOL_STDLIB_DIR");
    if (stdlib.empty()) stdlib = FSPOL_STDLIB_DIR;
    ctx.import_dirs.push_back(stdlib);
    ctx.last_dir_is_stdlib = true;
    for (const std::string& f : options_.user_files) {
      if (auto loaded = ctx.ids.load_users(f); !loaded) fail_io(loaded.error().message);
    }
    for (const std::string& f : options_.group_files) {
      if (auto loaded = ctx.ids.load_groups(f); !loaded) fail_io(loaded.error().message);
    }
    return ctx;
  }

  // The stages, in their one order: parse, resolve, check, lower to the
  // IR, verify. Stops at the first stage that reports errors. A module
  // (not a policy) is checked but not lowered.
  struct Analysis {
    sema::Program program;
    std::optional<ir::Policy> policy;
  };
  std::optional<Analysis> analyze(const std::string& path, sema::SemaContext& ctx) {
    FileId id = 0;
    auto parsed = parse(path, id);
    if (!parsed) return std::nullopt;
    roots_.push_back(std::make_unique<syntax::ParsedFile>(std::move(*parsed)));
    auto program = sema::run_resolve(*roots_.back(), ctx);
    if (!program) return std::nullopt;
    if (!sema::run_check(*program, ctx)) return std::nullopt;
    Analysis out{std::move(*program), std::nullopt};
    if (!out.program.is_policy) return out;
    out.policy = ir::run_lower(out.program, sources_, diags_);
    if (!out.policy) return std::nullopt;
    if (!verify::run_verify(out.program, *out.policy, ctx)) return std::nullopt;
    return out;
  }

  // Loads and parses `path`; nullopt when it cannot be read or has errors.
  std::optional<syntax::ParsedFile> parse(const std::string& path, FileId& id) {
    auto loaded = sources_.load(path);
    if (!loaded) {
      streams_.err << "fsc: error: " << loaded.error().message << '\n';
      io_failed_ = true;
      return std::nullopt;
    }
    id = *loaded;
    uint32_t errors_before = diags_.error_count();
    syntax::ParsedFile parsed = syntax::run_parser(id, sources_.file(id), diags_);
    if (diags_.error_count() != errors_before) return std::nullopt;
    return parsed;
  }

  const SourceManager& sources() const { return sources_; }
  void fail_io(const std::string& message) {
    streams_.err << "fsc: error: " << message << '\n';
    io_failed_ = true;
  }
  void fail_policy() { policy_failed_ = true; }

  int finish() {
    diags_.render(streams_.err, sources_, RenderOptions{use_color(options_, streams_)});
    if (io_failed_) return kExitIo;
    if (diags_.has_errors() || policy_failed_) return kExitPolicyError;
    return kExitOk;
  }

 private:
  const Options& options_;
  Streams streams_;
  SourceManager sources_;
  Diagnostics diags_;
  bool io_failed_ = false;
  bool policy_failed_ = false;
  // Parsed roots stay alive as long as programs point into them.
  std::vector<std::unique_ptr<syntax::ParsedFile>> roots_;
};

// Replaces `path` with `text` atomically: a reader sees the old or the new
// file, never half of one, and a failure leaves the old file in place.
Result<void> write_atomically(const std::string& path, const std::string& text) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return Error{errno, path + ": cannot stat: " + std::strerror(errno)};
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
  sema::SemaContext ctx = session.sema_context();
  for (const std::string& path : options.files) (void)session.analyze(path, ctx);
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
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    session.fail_io(path + ": cannot create: " + std::strerror(errno));
    return false;
  }
  ::close(fd);
  auto written = write_atomically(path, text);
  if (!written) session.fail_io(written.error().message);
  return written.ok();
}

}  // namespace

// Every stage for a policy; a module (which has no IR) is a usage mistake.
std::optional<ir::Policy> analyze_policy(Session& session, const std::string& path,
                                         sema::SemaContext& ctx, const char* verb) {
  auto analysis = session.analyze(path, ctx);
  if (!analysis) return std::nullopt;
  if (!analysis->policy) {
    session.fail_io(path + ": is a module; " + verb + " a policy that uses it");
    return std::nullopt;
  }
  return std::move(analysis->policy);
}

int run_compile(const Options& options, Streams streams) {
  Session session(options, streams);
  sema::SemaContext ctx = session.sema_context();
  auto analyzed = analyze_policy(session, options.files[0], ctx, "compile");
  if (!analyzed) return session.finish();
  const ir::Policy& policy = *analyzed;
  if (options.stats) {
    const ir::Stats& s = policy.stats;
    streams.out << "rules: " << s.rules << "\nselectors: " << s.selectors
                << "\nnfa states: " << s.dfa.nfa_states
                << "\ndfa states before minimisation: " << s.dfa.dfa_states_before_minimization
                << "\ndfa states: " << s.dfa.dfa_states << "\ninput classes: " << s.dfa.input_classes
                << "\npath classes: " << s.path_classes << "\n";
    if (options.output.empty()) return session.finish();
  }
  write_output(options.output, ir::print_ir(policy), streams.out, session);
  return session.finish();
}

int run_explain(const Options& options, Streams streams) {
  Session session(options, streams);
  sema::SemaContext ctx = session.sema_context();
  ir::Request request;
  request.path = options.files[1];
  if (!ir::parse_op(options.op, request.op)) {
    streams.err << "fsc: error: unknown operation '" << options.op
                << "' (lookup, stat, readdir, read, write, exec, create, delete, rename, link, "
                   "chmod, chown, truncate, utimes, xattr_read, xattr_write, lock)\n";
    return kExitUsage;
  }
  request.type = syntax::file_type_from_name(options.type);
  if (!request.type) {
    streams.err << "fsc: error: unknown file type '" << options.type << "'\n";
    return kExitUsage;
  }
  for (auto [text, out, group] : {std::tuple{&options.uid, &request.caller.uid, false},
                                  std::tuple{&options.gid, &request.caller.gid, true}}) {
    char* end = nullptr;
    unsigned long n = std::strtoul(text->c_str(), &end, 10);
    if (!text->empty() && *end == '\0' && n <= 0xfffffffeUL) {
      *out = static_cast<uint32_t>(n);
      continue;
    }
    auto named = group ? ctx.ids.group(*text) : ctx.ids.user(*text);
    if (!named) {
      streams.err << "fsc: error: unknown " << (group ? "group" : "user") << " '" << *text << "'\n";
      return kExitUsage;
    }
    *out = *named;
  }
  request.caller.comm = options.comm;
  if (!options.to.empty()) request.new_path = options.to;

  auto analyzed = analyze_policy(session, options.files[0], ctx, "explain");
  if (!analyzed) return session.finish();
  const ir::Policy& policy = *analyzed;
  auto verdict = ir::evaluate(policy, request);
  if (!verdict) {
    streams.err << "fsc: error: " << verdict.error().message << "\n";
    return kExitUsage;
  }
  streams.out << (options.json ? explain_json(policy, request, *verdict)
                               : explain_text(policy, request, *verdict));
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
    auto parsed = session.parse(path, id);
    if (!parsed) continue;
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
