// serve(): the daemon's life from mount to unmount, with clean shutdown on
// signals and a control socket for `fsrun status`. Also unmount() and the
// mount listing the command line uses.
#include <fcntl.h>
#include <linux/capability.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include "bpf/program_sets.h"
#include "fspol/runtime/runtime.h"
#include "fuse/credentials.h"
#include "fuse/fs.h"
#include "fuse/lower.h"
#include "fuse/session.h"
#include "fuse_bpf_abi.h"
#include "log.h"
#include "plan/plan.h"
#include "policy/engine.h"

namespace fspol::runtime {
namespace {

// The canonical path; for a mount point whose daemon died (stat fails
// with ENOTCONN) the parent is canonicalized and the last name kept.
std::string real_path(const std::string& path) {
  char buf[PATH_MAX];
  if (::realpath(path.c_str(), buf) != nullptr) return buf;
  std::string p = path;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  size_t slash = p.rfind('/');
  std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : p.substr(0, slash));
  std::string base = slash == std::string::npos ? p : p.substr(slash + 1);
  if (::realpath(dir.c_str(), buf) == nullptr) return path;
  std::string out = buf;
  if (out.back() != '/') out += '/';
  return out + base;
}

// The mount inputs (docs/runtime.md, "Bad mount inputs"): each is refused
// before anything is mounted, with one line naming the path and the reason.

// The directory `fd` stands for, as the kernel names it (a canonical path).
std::string fd_path(int fd, const std::string& fallback) {
  char buf[PATH_MAX];
  std::string link = "/proc/self/fd/" + std::to_string(fd);
  ssize_t n = ::readlink(link.c_str(), buf, sizeof buf - 1);
  if (n <= 0) return fallback;
  return std::string(buf, static_cast<size_t>(n));
}

bool same_file(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

// Whether the canonical `path` is the directory `dir` or lies beneath it:
// compared by (st_dev, st_ino) up the path's ancestors, so a bind mount or
// a second name of `dir` counts as `dir`.
bool beneath(const std::string& path, const struct stat& dir) {
  std::string p = path;
  for (;;) {
    struct stat st {};
    if (::stat(p.c_str(), &st) == 0 && same_file(st, dir)) return true;
    if (p.empty() || p == "/") return false;
    size_t slash = p.rfind('/');
    p = slash == 0 || slash == std::string::npos ? "/" : p.substr(0, slash);
  }
}

// A line of the daemon's `fsrun status` answer ("pid", "lower"), or "".
std::string status_field(const std::string& status, const std::string& name) {
  size_t at = status.find(name + ": ");
  if (at == std::string::npos) return "";
  size_t start = at + name.size() + 2;
  return status.substr(start, status.find('\n', start) - start);
}

// The mount point (canonical): an existing directory the caller may mount
// on, neither an fspol view already (the second mount would stack on the
// first and take its control socket) nor inside one (a reload of that view
// invalidates its names, and the kernel then detaches mounts on them).
Result<void> check_mountpoint(const std::string& mnt) {
  for (const std::string& view : list_mounts()) {
    if (view == mnt) {
      // A daemon being killed may still accept a connection, and then
      // answer nothing: that is a gone daemon too.
      auto status = query_status(view);
      if (!status || status_field(*status, "pid").empty()) {
        // A no_daemon view (fuse-bpf) keeps working without its fsrun.
        // Looked at only when no daemon is there at all: a stopped one
        // would hold the stat for ever.
        struct stat st {};
        bool answers = !status && status.error().code != ETIMEDOUT && ::stat(mnt.c_str(), &st) == 0;
        return Error{EBUSY,
                     "mount point " + mnt + " is an fspol view whose daemon is gone (" +
                         (answers ? "the kernel still serves it" : "the view answers ENOTCONN") +
                         "): `fsrun umount " + mnt + "` removes it"};
      }
      return Error{EBUSY, "mount point " + mnt + " is already an fspol view (of " +
                              status_field(*status, "lower") + ", daemon pid " +
                              status_field(*status, "pid") + "): `fsrun umount " + mnt + "` first"};
    }
    if (view == "/" || mnt.rfind(view + "/", 0) == 0) {
      return Error{EBUSY, "mount point " + mnt + " is inside the fspol view at " + view +
                              ": a reload of that view would detach this mount; mount outside "
                              "it"};
    }
  }
  struct stat st {};
  if (::stat(mnt.c_str(), &st) != 0) {
    int err = errno;
    std::string why = std::strerror(err);
    if (err == ENOTCONN) why += " (a FUSE file system whose daemon is gone is mounted there)";
    return Error{err, "mount point " + mnt + ": " + why};
  }
  if (!S_ISDIR(st.st_mode)) return Error{ENOTDIR, "mount point " + mnt + " is not a directory"};
  if (!daemon_has_capability(CAP_SYS_ADMIN)) {
    // fusermount3's own rules for a user's mount (check_perm), said here
    // in one line instead of its message and ours.
    std::string uid = std::to_string(::geteuid());
    if (::access(mnt.c_str(), W_OK) != 0) {
      return Error{EACCES, "mount point " + mnt + ": uid " + uid +
                               " may not write it, and fusermount3 mounts a user's view only "
                               "on a directory the user may write"};
    }
    if ((st.st_mode & S_ISVTX) != 0 && st.st_uid != ::geteuid()) {
      return Error{EACCES, "mount point " + mnt + " is sticky and not uid " + uid +
                               "'s, and fusermount3 refuses such a directory"};
    }
  }
  return {};
}

// Neither a lower root inside the mount point (the mount would cover it)
// nor the mount point inside a lower root (the view would show itself, in
// itself, without end; a walk of it would never finish).
Result<void> check_nesting(const std::string& mnt, const std::vector<FsState::Root>& roots) {
  struct stat m {};
  if (::stat(mnt.c_str(), &m) != 0) {
    return Error{errno, "mount point " + mnt + ": " + std::strerror(errno)};
  }
  for (const FsState::Root& root : roots) {
    struct stat r {};
    if (::fstat(root.fd, &r) != 0) continue;
    std::string path = fd_path(root.fd, root.path);
    std::string which = root.name == "main" ? "lower directory " + path
                                            : "lower root '" + root.name + "' (" + path + ")";
    if (same_file(m, r)) {
      return Error{EINVAL, "mount point " + mnt + " is the " + which +
                               " itself: the view would cover its own lower files"};
    }
    if (beneath(mnt, r)) {
      return Error{ELOOP, "mount point " + mnt + " is inside the " + which +
                              ": the view would show itself inside itself, without end"};
    }
    if (beneath(path, m)) {
      return Error{EINVAL,
                   "the " + which + " is inside mount point " + mnt + ": the mount would cover it"};
    }
  }
  return {};
}

// Whether /etc/fuse.conf lets users pass allow_other to fusermount3.
bool fuse_conf_allows_other() {
  std::ifstream in("/etc/fuse.conf");
  std::string line;
  while (std::getline(in, line)) {
    line = line.substr(0, line.find('#'));
    line.erase(0, line.find_first_not_of(" \t"));
    line.erase(line.find_last_not_of(" \t\r") + 1);
    if (line == "user_allow_other") return true;
  }
  return false;
}

// Serializes this user's mounts from the last look at the mount point to
// the mount itself (an flock on the control directory), so two `fsrun
// mount`s of one MNT at the same moment cannot both find it free.
class MountLock {
 public:
  explicit MountLock(const std::string& dir) {
    ::mkdir(dir.c_str(), 0700);
    fd_ = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd_ < 0) return;
    while (::flock(fd_, LOCK_EX) != 0 && errno == EINTR) {
    }
  }
  ~MountLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  MountLock(const MountLock&) = delete;
  MountLock& operator=(const MountLock&) = delete;

 private:
  int fd_ = -1;
};

unsigned default_threads() {
  // The most workers the daemon starts: one per core. They start on
  // demand. More waiting workers than cores only add cross-CPU wake-ups:
  // on 2 cores, 8 workers made cold stats 3x slower than 1 or 2
  // (docs/benchmarks.md).
  unsigned n = std::thread::hardware_concurrency();
  return std::clamp(n, 2U, 16U);
}

std::string seconds_text(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%gs", s);
  return buf;
}

const char* cache_text(CacheMode c) {
  return c == CacheMode::kAlways ? "always" : c == CacheMode::kNever ? "never" : "auto";
}

// fuse-bpf mode: the profile and the program sets the kernel runs; empty
// `profile` in daemon mode, with `why` saying why not fuse-bpf.
struct KernelPart {
  std::string profile;
  std::vector<std::string> sets;  // registered
  std::string root_set;           // empty: the root runs as plain passthrough
  bool no_daemon = false;         // the plan sends the daemon nothing: mounted without one
  bool assigns = false;           // the kernel reassigns sets (fsrun reload)
  std::string why;

  void note_sets(const ProgramSets& registered) {
    root_set = registered.names().empty() ? "" : registered.names().front();
    sets.clear();
    for (const std::string& name : registered.names()) {
      // One name serves many node states (profile node_states).
      if (!name.empty() && std::find(sets.begin(), sets.end(), name) == sets.end())
        sets.push_back(name);
    }
  }
};

std::string mode_text(const ConnInfo& conn, const KernelPart& kernel) {
  if (!kernel.profile.empty()) {
    std::string s = "fuse-bpf (profile " + kernel.profile + ", ";
    if (kernel.sets.empty()) {
      s += "no program set: plain fuse-bpf passthrough";
    } else {
      std::string first = kernel.sets.front();
      s += kernel.sets.size() == 1
               ? "1 program set registered as " + first
               : std::to_string(kernel.sets.size()) + " program sets registered as " +
                     first.substr(0, first.rfind('_') + 1) + "*";
    }
    if (kernel.no_daemon) return s + "; no daemon: the plan leaves it nothing)";
    return s + "; the daemon serves what the plan leaves to it, protocol 7." +
           std::to_string(conn.minor) + ")";
  }
  std::string s = "daemon (userspace FUSE, protocol 7." + std::to_string(conn.minor) + ")";
  if (!kernel.why.empty()) s += " (not fuse-bpf: " + kernel.why + ")";
  s += conn.passthrough ? ", kernel passthrough on" : ", kernel passthrough off";
  if (!conn.passthrough && !conn.passthrough_note.empty()) s += " (" + conn.passthrough_note + ")";
  if (conn.writeback) s += ", writeback cache";
  s += conn.uring ? ", FUSE over io_uring" : ", /dev/fuse (no io_uring: " + conn.uring_note + ")";
  return s;
}

// What a daemon that cannot act as each caller gave up (docs/runtime.md,
// "Unprivileged use"), for the note at mount and `fsrun status`; "" for a
// daemon that can.
std::string unprivileged_text(const MountOptions& o, const ConnInfo& conn) {
  if (can_act_as_callers()) return "";
  std::string uid = std::to_string(::geteuid());
  std::string s = "uid " + uid;
  if (!daemon_has_capability(CAP_SYS_ADMIN)) s += ", mounted through fusermount3";
  s += "; without: other users (allow_other: only uid " + uid +
       " may use the view), acting as each caller (lower operations run as uid " + uid + ")";
  if (o.passthrough && !conn.passthrough)
    s += ", kernel passthrough (" + conn.passthrough_note + ")";
  if (o.uring != UringMode::kOff && !conn.uring)
    s += ", FUSE over io_uring (" + conn.uring_note + ")";
  return s;
}

// The requests served so far, by opcode name (those with any); fuse-bpf
// mode's filter requests as "<name> prefilter" and "<name> postfilter".
std::vector<std::pair<std::string, uint64_t>> opcode_counts(const FsState& fs) {
  std::vector<std::pair<std::string, uint64_t>> out;
  for (int kind = 0; kind < 3; ++kind) {
    for (uint32_t op = 0; op < 64; ++op) {
      uint64_t n = kind == 0 ? fs.count(op) : fs.filter_count(op, kind == 2);
      if (n == 0) continue;
      const char* name = FsState::opcode_name(op);
      std::string text = name ? name : "opcode_" + std::to_string(op);
      if (kind != 0) text += kind == 1 ? " prefilter" : " postfilter";
      out.emplace_back(text, n);
    }
  }
  return out;
}

std::string status_text(const MountOptions& o, FsState& fs, const Session& session,
                        const KernelPart& kernel, unsigned threads) {
  const Policy& policy = fs.policy();
  std::ostringstream out;
  out << "mountpoint: " << o.mountpoint << "\n";
  out << "lower: " << o.lower;
  if (std::string change = fs.lower_change(0); !change.empty()) out << " (" << change << ")";
  out << "\n";
  for (size_t i = 1; i < fs.lower_roots(); ++i) {
    if (std::string change = fs.lower_change(i); !change.empty())
      out << "lower root " << fs.lower_path(i) << ": " << change << "\n";
  }
  out << "policy: " << policy.name << " (" << policy.path << "), " << policy.rule_count
      << " rules, " << fs.path_classes() << " path classes\n";
  out << "mode: " << mode_text(session.conn(), kernel) << "\n";
  out << "pid: " << ::getpid() << "\n";
  out << "callers: " << (can_act_as_callers() ? "lower operations run as the caller"
                                               : "lower operations run as the daemon's user")
      << (o.allow_other ? ", other users allowed" : ", only the mounting user")
      << (o.default_permissions ? ", kernel permission checks on" : ", kernel permission checks off")
      << "\n";
  if (std::string u = unprivileged_text(o, session.conn()); !u.empty()) {
    out << "unprivileged: " << u << "\n";
  }
  out << "threads: " << session.workers() << " (at most " << threads << ")";
  if (session.conn().uring) out << ", io_uring queue threads: " << session.ring_threads();
  out << "\n";
  out << "cache: " << cache_text(o.cache) << ", entry " << seconds_text(o.entry_timeout)
      << ", attr " << seconds_text(o.attr_timeout) << ", negative "
      << seconds_text(o.negative_timeout) << "\n";
  out << "inodes: " << fs.inode_count() << ", open files: " << fs.open_files()
      << ", passthrough opens: " << fs.passthrough_opens()
      << ", directory chunks read ahead: " << fs.readahead_chunks() << "\n";
  if (fs.fd_refusals() != 0) {
    out << "descriptors: " << fs.fd_refusals()
        << " requests answered ENFILE for want of one (open-file limit " << fs.fd_limit() << ")\n";
  }
  if (policy.rule_count != 0) {
    FsState::PolicyCounts c = fs.policy_counts();
    out << "policy decisions: " << c.hidden << " hidden, " << c.denied << " denied, "
        << c.rewritten << " attribute replies rewritten, " << c.handled
        << " contents from handlers, " << c.unnamed << " lower names without a view name\n";
  }
  if (const AuditLog* log = fs.audit_log()) {
    out << "audit: " << log->written() << " records to " << log->where() << ", " << log->dropped()
        << " dropped\n";
  }
  uint64_t total = 0;
  std::ostringstream per_op;
  for (const auto& [name, n] : opcode_counts(fs)) {
    total += n;
    per_op << "  " << name << " " << n << "\n";
  }
  out << "requests: " << total << ", errors: " << fs.errors() << "\n" << per_op.str();
  return out.str();
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

// The same facts as status_text, as one JSON object (docs/runtime.md,
// "fsrun status --json").
std::string status_json(const MountOptions& o, FsState& fs, const Session& session,
                        const KernelPart& kernel) {
  const Policy& policy = fs.policy();
  std::ostringstream out;
  FsState::PolicyCounts c = fs.policy_counts();
  std::string change = fs.lower_change(0);
  out << "{\"mountpoint\": " << json_string(o.mountpoint) << ", \"lower\": " << json_string(o.lower)
      << ", \"lower_changed\": " << (change.empty() ? "null" : json_string(change))
      << ", \"policy\": {\"name\": " << json_string(policy.name)
      << ", \"path\": " << json_string(policy.path) << ", \"rules\": " << policy.rule_count
      << ", \"path_classes\": " << fs.path_classes()
      << "}, \"mode\": " << json_string(mode_text(session.conn(), kernel)) << ", \"fuse_bpf\": ";
  if (kernel.profile.empty()) {
    out << "null";
  } else {
    out << "{\"profile\": " << json_string(kernel.profile)
        << ", \"no_daemon\": " << (kernel.no_daemon ? "true" : "false") << ", \"sets\": [";
    for (size_t i = 0; i < kernel.sets.size(); ++i)
      out << (i ? ", " : "") << json_string(kernel.sets[i]);
    out << "]}";
  }
  std::string unprivileged = unprivileged_text(o, session.conn());
  out << ", \"unprivileged\": " << (unprivileged.empty() ? "null" : json_string(unprivileged));
  out << ", \"pid\": " << ::getpid() << ", \"workers\": " << session.workers()
      << ", \"inodes\": " << fs.inode_count() << ", \"open_files\": " << fs.open_files()
      << ", \"passthrough_opens\": " << fs.passthrough_opens()
      << ", \"fd_limit\": " << fs.fd_limit() << ", \"enfile\": " << fs.fd_refusals()
      << ", \"decisions\": {\"hidden\": " << c.hidden << ", \"denied\": " << c.denied
      << ", \"rewritten\": " << c.rewritten << ", \"handled\": " << c.handled
      << ", \"unnamed\": " << c.unnamed << "}, \"audit\": ";
  if (const AuditLog* log = fs.audit_log()) {
    out << "{\"to\": " << json_string(log->where()) << ", \"written\": " << log->written()
        << ", \"dropped\": " << log->dropped() << "}";
  } else {
    out << "null";
  }
  uint64_t total = 0;
  std::string per_op;
  for (const auto& [name, n] : opcode_counts(fs)) {
    total += n;
    per_op += (per_op.empty() ? "" : ", ") + json_string(name) + ": " + std::to_string(n);
  }
  out << ", \"requests\": {\"total\": " << total << ", \"errors\": " << fs.errors()
      << ", \"by_opcode\": {" << per_op << "}}}\n";
  return out.str();
}

// Listens on the control socket; answers each connection's one request
// (a line: "status", "status json", "reload PATH").
class ControlServer {
 public:
  ControlServer(std::string path, std::function<std::string(const std::string&)> answer)
      : path_(std::move(path)), answer_(std::move(answer)) {}
  ~ControlServer() { stop(); }

  bool start() {
    std::string dir = path_.substr(0, path_.rfind('/'));
    ::mkdir(dir.c_str(), 0700);
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return false;
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path_.size() >= sizeof addr.sun_path) return false;
    std::memcpy(addr.sun_path, path_.c_str(), path_.size() + 1);
    ::unlink(path_.c_str());
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return false;
    if (::listen(fd_, 8) != 0) return false;
    thread_ = std::thread([this] { loop(); });
    return true;
  }

  void stop() {
    if (fd_ < 0) return;
    stopping_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    if (thread_.joinable()) thread_.join();
    ::close(fd_);
    fd_ = -1;
    ::unlink(path_.c_str());
  }

 private:
  void loop() {
    while (!stopping_) {
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) {
        int err = errno;
        if (stopping_) break;
        if (err == EINTR || err == ECONNABORTED) continue;
        if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
          // Out of descriptors or memory for a moment: the connection
          // waits in the backlog. Giving up would leave `fsrun status`
          // and `fsrun reload` unanswered for the rest of the daemon's life.
          if (!short_warned_) log_warn("control socket: %s; retrying", std::strerror(err));
          short_warned_ = true;
          ::poll(nullptr, 0, 100);
          continue;
        }
        log_error(
            "control socket: %s: `fsrun status` and `fsrun reload` no longer reach "
            "this daemon",
            std::strerror(err));
        break;
      }
      timeval timeout{2, 0};
      ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
      std::string request;
      char ch;
      while (request.size() < 8192 && ::recv(c, &ch, 1, 0) == 1 && ch != '\n') request += ch;
      std::string text = answer_(request);
      size_t done = 0;
      while (done < text.size()) {
        ssize_t n = ::send(c, text.data() + done, text.size() - done, MSG_NOSIGNAL);
        if (n <= 0) break;
        done += static_cast<size_t>(n);
      }
      ::close(c);
    }
  }

  std::string path_;
  std::function<std::string(const std::string&)> answer_;
  int fd_ = -1;
  std::atomic<bool> stopping_{false};
  bool short_warned_ = false;
  std::thread thread_;
};

// Where a mount records the program sets it registered (ProgramSets).
std::string sets_file_path(const std::string& mountpoint);

// The rules a plan cannot place, one per line, located.
std::string problems_text(const ir::Policy& ir, const plan::Plan& plan) {
  std::string text;
  for (const plan::Plan::Problem& p : plan.problems) {
    text += "\n  " + ir.rules[p.rule].where.str() + ": " + p.message;
  }
  return text;
}

// Registers the program sets of `plan` (the policy `ir` planned for
// `profile`) from the fsc-compiled `object`; `kernel_sets` says, per set,
// the node state it serves and its name.
Result<void> register_sets(const ir::Policy& ir, const plan::Profile& profile,
                           const plan::Plan& plan, const std::string& object,
                           const std::string& state_file, std::unique_ptr<ProgramSets>& sets,
                           std::vector<KernelSet>& kernel_sets) {
  std::vector<bool> passthrough;
  for (const plan::ProgramSet& set : plan.sets) passthrough.push_back(set.passthrough);
  bool states = plan::profile_info(profile).node_states;
  auto loaded =
      ProgramSets::load(object, plan::policy_digest(ir, profile), passthrough, states, state_file);
  if (!loaded) return loaded.error();
  sets = std::move(*loaded);
  for (size_t i = 0; i < plan.sets.size(); ++i) {
    const plan::ProgramSet& p = plan.sets[i];
    std::vector<uint32_t> above = p.hidden_above;
    std::sort(above.begin(), above.end());
    kernel_sets.push_back(KernelSet{p.cls, std::move(above), p.types, sets->names()[i],
                                    states && !p.passthrough ? static_cast<uint32_t>(i) : 0});
  }
  return {};
}

// Decides the mode and, for fuse-bpf, registers the policy's program sets.
Result<void> load_programs(const Policy& policy, const MountOptions& o, const ServeHooks& hooks,
                           KernelPart& kernel, std::unique_ptr<ProgramSets>& sets,
                           std::vector<KernelSet>& kernel_sets) {
  if (o.mode == RunMode::kDaemon) {
    kernel.why = "-o mode=daemon";
    return {};
  }
  FuseBpfSupport support = probe_fuse_bpf();
  if (!support.present) {
    if (o.mode == RunMode::kFuseBpf) {
      return Error{ENOTSUP, "-o mode=fuse-bpf: " + support.why +
                                "; mount with -o mode=daemon (or mode=auto) to serve it from "
                                "the daemon"};
    }
    kernel.why = support.why;
    return {};
  }
  if (!daemon_has_capability(CAP_SYS_ADMIN)) {
    // fuse-bpf mode mounts with mount(2) itself (no fusermount3 passes
    // root_dir= and root_bpf=) and registers struct_ops programs.
    std::string why = "not root: fuse-bpf mode needs CAP_SYS_ADMIN to mount and register programs";
    if (o.mode == RunMode::kFuseBpf) {
      return Error{EPERM, "-o mode=fuse-bpf: " + why + "; mount with -o mode=daemon"};
    }
    kernel.why = why;
    return {};
  }
  auto profile = plan::profile_from_name(support.profile);
  if (!profile) return Error{EINVAL, "unknown kernel profile " + support.profile};
  const ir::Policy& ir = policy.engine->policy();
  plan::Plan plan = plan::make_plan(ir, *profile);
  if (!plan.problems.empty()) {
    std::string text = problems_text(ir, plan);
    if (o.mode == RunMode::kFuseBpf) {
      return Error{EINVAL, "-o mode=fuse-bpf: rules the kernel cannot run as written:" + text};
    }
    kernel.why = "rules the kernel cannot run as written:" + text;
    log_info("serving from the daemon: %s", kernel.why.c_str());
    return {};
  }
  std::string object;
  if (!o.bpf_object.empty()) {
    int fd = ::open(o.bpf_object.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Error{errno, "-o bpf=" + o.bpf_object + ": " + std::strerror(errno)};
    read_all(fd, object);
    ::close(fd);
  } else if (hooks.compile_programs) {
    auto built = hooks.compile_programs(policy.path, support.profile);
    if (!built) return built.error();
    object = std::move(*built);
  } else {
    return Error{EINVAL,
                 "fuse-bpf mode needs the policy's programs: -o bpf=FILE (fsc compile "
                 "--target=" +
                     support.profile + " --emit=bpf-obj)"};
  }
  std::string state = sets_file_path(o.mountpoint);
  if (size_t n = unregister_stale_sets(state) + unregister_stale_sets(state + ".next")) {
    log_info("unregistered %zu program sets a previous daemon of %s left", n, o.mountpoint.c_str());
  }
  auto r = register_sets(ir, *profile, plan, object, state, sets, kernel_sets);
  if (!r) {
    std::string from = o.bpf_object.empty() ? "the compiled programs" : o.bpf_object;
    return Error{r.error().code, from + ": " + r.error().message};
  }
  kernel.profile = support.profile;
  kernel.no_daemon = support.no_daemon && !plan::needs_daemon(plan);
  kernel.assigns = support.assign;
  kernel.note_sets(*sets);
  return {};
}

// `fsrun reload` of a fuse-bpf view: the new policy's sets registered next
// to the old ones, the daemon switched to them (FsState::reload), the
// kernel's nodes given theirs (FsState::reassign_kernel_sets), the old
// sets unregistered.
Result<std::string> reload_fuse_bpf(FsState& fs, std::shared_ptr<Policy> next,
                                    const MountOptions& o, const ServeHooks& hooks,
                                    KernelPart& kernel, std::unique_ptr<ProgramSets>& sets) {
  if (kernel.no_daemon) {
    return Error{EINVAL,
                 "this view was mounted without a daemon (no_daemon: its policy left the daemon "
                 "nothing), so nothing could serve what a new policy leaves to one; remount it "
                 "(fsrun umount, then fsrun mount)"};
  }
  if (!kernel.assigns) {
    return Error{
        ENOTSUP,
        "this kernel cannot give the nodes it holds other program sets (no " FUSE_BPF_FEATURE_DIR
        "/" FUSE_BPF_FEATURE_ASSIGN "); remount the view (fsrun umount, then fsrun mount)"};
  }
  if (!hooks.compile_programs) return Error{EINVAL, "this daemon cannot compile policies"};
  auto profile = plan::profile_from_name(kernel.profile);
  if (!profile) return Error{EINVAL, "unknown kernel profile " + kernel.profile};
  const ir::Policy& ir = next->engine->policy();
  plan::Plan plan = plan::make_plan(ir, *profile);
  if (!plan.problems.empty()) {
    return Error{EINVAL,
                 "this view runs in fuse-bpf mode and the new policy has rules the kernel "
                 "cannot run as written:" +
                     problems_text(ir, plan)};
  }
  auto object = hooks.compile_programs(next->path, kernel.profile);
  if (!object) return object.error();
  std::string state = sets_file_path(o.mountpoint);
  std::unique_ptr<ProgramSets> next_sets;
  std::vector<KernelSet> next_kernel_sets;
  auto r = register_sets(ir, *profile, plan, *object, state + ".next", next_sets, next_kernel_sets);
  if (!r) return Error{r.error().code, "the new policy's programs: " + r.error().message};
  auto report = fs.reload(std::move(next), std::move(next_kernel_sets));
  if (!report) return report.error();  // the new sets are unregistered: nothing used them
  auto kernel_report = fs.reassign_kernel_sets();
  if (!kernel_report) {
    // Some nodes may run either: both stay registered until the unmount.
    log_error("reload: %s", kernel_report.error().message.c_str());
    sets->keep(std::move(next_sets));
    return Error{kernel_report.error().code,
                 "the daemon serves the new policy, but not every node the kernel holds was "
                 "given its program sets (" +
                     kernel_report.error().message +
                     "); remount the view (fsrun umount, then fsrun mount)"};
  }
  sets = std::move(next_sets);  // the old sets unregistered
  sets->take_state_file(state);
  kernel.note_sets(*sets);
  return *report + "kernel: " + *kernel_report + "\n";
}

}  // namespace

std::string control_socket_path(const std::string& mountpoint) {
  std::string dir;
  if (::geteuid() == 0) {
    dir = "/run/fspol";
  } else if (const char* xdg = std::getenv("XDG_RUNTIME_DIR"); xdg != nullptr && *xdg) {
    dir = std::string(xdg) + "/fspol";
  } else {
    dir = "/tmp/fspol-" + std::to_string(::geteuid());
  }
  char name[32];
  std::snprintf(name, sizeof name, "%016zx.sock", std::hash<std::string>()(real_path(mountpoint)));
  return dir + "/" + name;
}

namespace {

std::string sets_file_path(const std::string& mountpoint) {
  std::string sock = control_socket_path(mountpoint);
  ::mkdir(sock.substr(0, sock.rfind('/')).c_str(), 0700);
  return sock.substr(0, sock.size() - 5) + ".sets";
}

}  // namespace

Result<void> serve(const Policy& policy, const MountOptions& options, const ServeHooks& hooks) {
  // No fastbins: after the kernel forgets thousands of inodes at once
  // (drop_caches, a big rm), glibc would merge all their freed blocks in
  // one pass on the next large allocation, on whatever request makes it
  // (11 % of a cold readdir's samples); without fastbins blocks merge as
  // they are freed, on the thread handling the FORGET.
  mallopt(M_MXFAST, 0);
  // Every file open through the view holds a lower descriptor in the
  // daemon: take the hard open-file limit, as passthrough_hp does (the
  // soft one is often 1024). What is done when even that runs out:
  // FsState::fd_room.
  rlimit files{};
  if (::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &files);
  }
  MountOptions o = options;
  // cache=never means no caching at all, whatever timeouts the policy or
  // another -o set: `fsrun status` shows what the kernel is told.
  if (o.cache == CacheMode::kNever) o.entry_timeout = o.attr_timeout = o.negative_timeout = 0;
  // Other users may come in only when every lower operation can run with
  // their own rights (credentials.h).
  init_credentials();
  if (!o.allow_other_set) o.allow_other = can_act_as_callers();
  o.allow_other_set = true;
  if (o.allow_other && !can_act_as_callers()) {
    std::string uid = std::to_string(::geteuid());
    return Error{EPERM,
                 "allow_other: the daemon cannot act as other users (that needs "
                 "CAP_SETUID and CAP_SETGID, as root has), so they would use the view "
                 "with the rights of uid " +
                     uid +
                     (::geteuid() != 0 && !fuse_conf_allows_other()
                          ? "; and /etc/fuse.conf has no user_allow_other, so fusermount3 "
                            "refuses it too"
                          : "")};
  }
  o.lower = real_path(o.lower);
  o.mountpoint = real_path(o.mountpoint);
  if (auto r = check_mountpoint(o.mountpoint); !r) return r.error();
  ::umask(0);  // the kernel already applied the caller's umask to modes
  FsState fs(o, &policy);
  if (auto r = fs.open_lower(); !r) return r.error();
  if (auto r = check_nesting(o.mountpoint, fs.roots()); !r) return r.error();
  KernelPart kernel;
  std::unique_ptr<ProgramSets> sets;  // outlives the session: unregistered after the unmount
  std::vector<KernelSet> kernel_sets;
  if (auto r = load_programs(policy, o, hooks, kernel, sets, kernel_sets); !r) return r.error();

  // Signals are taken by one thread (sigwait) and turned into an unmount;
  // every other thread inherits the blocked mask.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGHUP);
  sigset_t old_mask;
  pthread_sigmask(SIG_BLOCK, &sigs, &old_mask);
  struct MaskGuard {
    sigset_t mask;
    ~MaskGuard() { pthread_sigmask(SIG_SETMASK, &mask, nullptr); }
  } mask_guard{old_mask};
  ::signal(SIGPIPE, SIG_IGN);

  Session session(fs, o);
  fs.attach(&session);
  {
    // Looked at again under the lock: another mount may have taken the
    // mount point while the policy's programs were loaded.
    std::string sock = control_socket_path(o.mountpoint);
    MountLock lock(sock.substr(0, sock.rfind('/')));
    if (auto r = check_mountpoint(o.mountpoint); !r) return r.error();
    if (kernel.profile.empty()) {
      if (auto r = session.mount(); !r) return r.error();
    } else {
      fs.serve_filters(std::move(kernel_sets));
      UniqueFd lower(::open(o.lower.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      if (lower.get() < 0)
        return Error{errno, "cannot open " + o.lower + ": " + std::strerror(errno)};
      auto r = session.mount_backed(lower.get(), kernel.root_set, kernel.no_daemon);
      if (!r) return r.error();
    }
  }
  if (auto r = kernel.no_daemon ? Result<void>{} : session.handshake(); !r) {
    session.stop();
    return r.error();
  }
  unsigned threads = o.threads != 0 ? o.threads : default_threads();
  std::string mode = mode_text(session.conn(), kernel);
  log_debug("%s on %s: %s", policy.name.c_str(), o.mountpoint.c_str(), mode.c_str());
  if (std::string u = unprivileged_text(o, session.conn()); !u.empty()) {
    log_info("unprivileged: %s", u.c_str());
  }

  auto answer = [&](const std::string& request) -> std::string {
    if (request == "status json") return status_json(o, fs, session, kernel);
    if (request.rfind("reload ", 0) != 0) return status_text(o, fs, session, kernel, threads);
    // A reload: compiled here as at mount, swapped in by the file system.
    std::string path = request.substr(7);
    if (path.empty()) path = fs.policy().path;
    std::ostringstream diagnostics;
    if (!hooks.load) return "error\nthis daemon was started without a way to load policies\n";
    auto next = hooks.load(path, diagnostics);
    if (!next) return "error\n" + diagnostics.str() + next.error().message + "\n";
    next->path = path;
    auto policy = std::make_shared<Policy>(std::move(*next));
    auto report = kernel.profile.empty()
                      ? fs.reload(std::move(policy))
                      : reload_fuse_bpf(fs, std::move(policy), o, hooks, kernel, sets);
    if (!report) return "error\n" + diagnostics.str() + report.error().message + "\n";
    return "ok\n" + diagnostics.str() + *report;
  };
  ControlServer control(control_socket_path(o.mountpoint), answer);
  if (!control.start()) log_warn("no control socket: `fsrun status` will not see this mount");

  std::atomic<bool> done{false};
  std::thread signal_thread([&] {
    timespec tick{0, 200 * 1000 * 1000};
    while (!done.load()) {
      int sig = ::sigtimedwait(&sigs, nullptr, &tick);
      if (sig > 0) {
        log_info("signal %d: unmounting %s", sig, o.mountpoint.c_str());
        session.stop();
        break;
      }
    }
  });
  // A lower root removed, moved, replaced or unmounted under the view
  // changes nothing the daemon would notice by itself: it keeps serving
  // the directory it opened. Say so once, in the log (and in status).
  std::thread lower_watch([&] {
    std::vector<std::string> said(fs.lower_roots());
    for (int tick = 1; !done.load(); ++tick) {
      ::poll(nullptr, 0, 200);
      if (tick % 5 != 0) continue;
      for (size_t i = 0; i < said.size(); ++i) {
        std::string change = fs.lower_change(i);
        if (change == said[i]) continue;
        if (!change.empty()) log_warn("lower %s: %s", fs.lower_path(i).c_str(), change.c_str());
        said[i] = std::move(change);
      }
    }
  });
  if (hooks.ready) hooks.ready(mode);
  // Without a daemon this process only keeps the program sets registered
  // and answers `fsrun status` until the view goes; killed, it leaves the
  // view working and `fsrun umount` unregisters the sets.
  if (kernel.no_daemon) {
    session.wait_unmounted();
  } else {
    session.serve(threads);
  }
  done.store(true);
  session.stop();  // no-op when already unmounted
  signal_thread.join();
  lower_watch.join();
  control.stop();
  return {};
}

namespace {

// How a daemon that does not answer is described: its pid (the peer of
// the connection) and whether it is stopped.
std::string silent_daemon(int fd, const std::string& mountpoint, int timeout_s) {
  std::string who = "the daemon of " + mountpoint;
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && cred.pid > 0) {
    who += " (pid " + std::to_string(cred.pid);
    std::ifstream stat("/proc/" + std::to_string(cred.pid) + "/stat");
    std::string line;
    std::getline(stat, line);
    size_t paren = line.rfind(')');
    if (paren != std::string::npos && paren + 2 < line.size() &&
        (line[paren + 2] == 'T' || line[paren + 2] == 't')) {
      who += ", stopped";
    }
    who += ")";
  }
  return who + " does not answer within " + std::to_string(timeout_s) + " s";
}

// Sends one request line to the daemon of `mountpoint`; its answer. A
// daemon that is stopped (SIGSTOP) or stuck still accepts connections
// (the kernel queues them): after `timeout_s` without an answer, an
// ETIMEDOUT Error, so that no command waits for it forever.
Result<std::string> ask(const std::string& mountpoint, const std::string& request, int timeout_s) {
  std::string path = control_socket_path(mountpoint);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return Error{errno, "socket: " + std::string(std::strerror(errno))};
  timeval timeout{timeout_s, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);  // connect, send
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), std::min(path.size() + 1, sizeof addr.sun_path - 1));
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int err = errno;
    if (err == EAGAIN) return Error{ETIMEDOUT, silent_daemon(fd.get(), mountpoint, timeout_s)};
    return Error{err, "no fsrun daemon answers for " + mountpoint + " (" + std::strerror(err) + ")"};
  }
  std::string line = request + "\n";
  (void)!::send(fd.get(), line.data(), line.size(), MSG_NOSIGNAL);
  std::string text;
  char buf[4096];
  for (;;) {
    ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n > 0) {
      text.append(buf, static_cast<size_t>(n));
    } else if (n == 0) {
      break;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      return Error{ETIMEDOUT, silent_daemon(fd.get(), mountpoint, timeout_s)};
    } else if (errno != EINTR) {
      break;
    }
  }
  return text;
}

// A status answer takes microseconds; a reload compiles a policy and may
// wait 5 s for requests in flight.
constexpr int kStatusTimeoutS = 5;
constexpr int kReloadTimeoutS = 60;

}  // namespace

Result<std::string> query_status(const std::string& mountpoint, bool json) {
  return ask(mountpoint, json ? "status json" : "status", kStatusTimeoutS);
}

Result<std::string> reload_policy(const std::string& mountpoint, const std::string& policy_path) {
  auto answer = ask(mountpoint, "reload " + policy_path, kReloadTimeoutS);
  if (!answer) return answer.error();
  if (answer->rfind("ok\n", 0) == 0) return answer->substr(3);
  std::string text = answer->rfind("error\n", 0) == 0 ? answer->substr(6) : *answer;
  return Error{EINVAL, text};
}

namespace {

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape_mountinfo(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() + 0 && i + 3 <= s.size()) {
      int v = (s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0');
      out += static_cast<char>(v);
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

std::vector<std::string> list_mounts() {
  std::vector<std::string> result;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string f, mountpoint;
    for (int i = 0; i < 5 && fields >> f; ++i) {
      if (i == 4) mountpoint = f;
    }
    while (fields >> f && f != "-") {
    }
    std::string fstype;
    fields >> fstype;
    if (fstype == "fuse.fspol") result.push_back(unescape_mountinfo(mountpoint));
  }
  return result;
}

Result<void> unmount(const std::string& mountpoint) {
  std::string mnt = real_path(mountpoint);
  if (::geteuid() == 0) {
    if (::umount2(mnt.c_str(), UMOUNT_NOFOLLOW) != 0) {
      int err = errno;
      if (err != EBUSY) return Error{err, "umount " + mnt + ": " + std::strerror(err)};
      // In use: detach now, the kernel finishes when the last user leaves.
      if (::umount2(mnt.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) != 0) {
        return Error{errno, "umount " + mnt + ": " + std::strerror(errno)};
      }
    }
  } else {
    pid_t pid = ::fork();
    if (pid < 0) return Error{errno, "fork: " + std::string(std::strerror(errno))};
    if (pid == 0) {
      ::execlp("fusermount3", "fusermount3", "-u", "-z", mnt.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      return Error{EIO, "fusermount3 -u " + mnt + " failed"};
    }
  }
  // Give a live daemon a moment to notice and remove its control socket,
  // so that a script that unmounts and then exits leaves nothing behind.
  std::string sock = control_socket_path(mnt);
  for (int i = 0; i < 50 && ::access(sock.c_str(), F_OK) == 0; ++i) {
    auto alive = ask(mnt, "status", 1);
    if (!alive && alive.error().code == ETIMEDOUT) {
      // Alive but not answering (stopped): it sees the view gone and
      // removes its socket when it runs again.
      log_warn("%s: unmounted; it exits when it runs again", alive.error().message.c_str());
      break;
    }
    if (!alive) {
      ::unlink(sock.c_str());  // the daemon is dead: clean its socket
      break;
    }
    ::usleep(100 * 1000);
  }
  // fuse-bpf mode: a daemon that died left its program sets registered.
  std::string sets_file = sets_file_path(mnt);
  if (size_t n = unregister_stale_sets(sets_file) + unregister_stale_sets(sets_file + ".next")) {
    log_info("unregistered %zu program sets the daemon of %s left", n, mnt.c_str());
  }
  return {};
}

}  // namespace fspol::runtime
