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

#include "fspol/compiler.h"
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

  int finish() {
    for (const std::string& m : compiler_.io_errors()) streams_.err << "fsc: error: " << m << '\n';
    for (const std::string& m : io_messages_) streams_.err << "fsc: error: " << m << '\n';
    compiler_.render(streams_.err, RenderOptions{use_color(options_, streams_)});
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
  return written.ok();
}

}  // namespace

// Every stage for a policy; a module (which has no IR) is a usage mistake.
const ir::Policy* analyze_policy(Session& session, const std::string& path, const char* verb) {
  const Unit* unit = session.analyze(path);
  if (unit == nullptr) return nullptr;
  if (!unit->program->is_policy) {
    session.compiler().diagnostics().error(
        unit->parsed->ast.header, "'" + unit->program->name + "' is a module, not a policy; " +
                                      verb + " a policy that imports and uses it");
    return nullptr;
  }
  return unit->policy.get();
}

int run_compile(const Options& options, Streams streams) {
  Session session(options, streams);
  const ir::Policy* analyzed = analyze_policy(session, options.files[0], "compile");
  if (analyzed == nullptr) return session.finish();
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
    auto named = group ? session.compiler().ids().group(*text) : session.compiler().ids().user(*text);
    if (!named) {
      streams.err << "fsc: error: unknown " << (group ? "group" : "user") << " '" << *text << "'\n";
      return kExitUsage;
    }
    *out = *named;
  }
  request.caller.comm = options.comm;
  if (!options.to.empty()) request.new_path = options.to;

  const ir::Policy* analyzed = analyze_policy(session, options.files[0], "explain");
  if (analyzed == nullptr) return session.finish();
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
