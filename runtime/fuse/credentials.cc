// Per-thread caller credentials (credentials.h).
//
// The raw system calls matter: glibc's setgroups() (like setresuid())
// applies the change to every thread of the process, which would hand one
// caller's rights to requests of others served at the same time. The
// kernel's setgroups, setfsuid, setfsgid and capset change only the
// calling thread.
#include "fuse/credentials.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "fuse/lower.h"
#include "log.h"

namespace fspol::runtime {
namespace {

constexpr uint64_t bit(int cap) { return uint64_t{1} << cap; }

struct DaemonCreds {
  bool can_switch = false;
  Credentials own;
  uint64_t permitted = 0;
  uint64_t inheritable = 0;
  // Kept effective while acting as a caller, so the thread can switch to
  // the next one: they let a thread change its own ids, and no filesystem
  // permission check consults them.
  uint64_t keep = 0;
};
DaemonCreds g_daemon;

thread_local bool t_valid = false;  // t_current is what the thread holds
thread_local Credentials t_current;

// The last caller of this thread, for the common case of one caller many
// times in a row.
struct CallerKey {
  uint32_t pid = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  bool operator==(const CallerKey&) const = default;
};
struct CacheEntry {
  CallerKey key;
  uint64_t loaded_ms = 0;
  bool used = false;
  Credentials creds;  // what the thread must hold for this caller
};
constexpr size_t kCacheSize = 8;
thread_local std::array<CacheEntry, kCacheSize> t_cache;
thread_local size_t t_next = 0;
thread_local CallerKey t_last;
thread_local uint64_t t_last_ms = 0;
thread_local bool t_last_valid = false;

uint64_t now_ms() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
}

bool get_caps(uint64_t& effective, uint64_t& permitted, uint64_t& inheritable) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (::syscall(SYS_capget, &header, data) != 0) return false;
  effective = data[0].effective | (uint64_t{data[1].effective} << 32);
  permitted = data[0].permitted | (uint64_t{data[1].permitted} << 32);
  inheritable = data[0].inheritable | (uint64_t{data[1].inheritable} << 32);
  return true;
}

int set_effective_caps(uint64_t effective) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  for (int i = 0; i < 2; ++i) {
    data[i].effective = static_cast<uint32_t>(effective >> (32 * i));
    data[i].permitted = static_cast<uint32_t>(g_daemon.permitted >> (32 * i));
    data[i].inheritable = static_cast<uint32_t>(g_daemon.inheritable >> (32 * i));
  }
  return ::syscall(SYS_capset, &header, data) == 0 ? 0 : errno;
}

// Makes the thread hold `want`, changing only what differs.
int apply(const Credentials& want) {
  bool all = !t_valid;
  t_valid = false;  // until every step has taken
  if (all || t_current.groups != want.groups) {
    if (::syscall(SYS_setgroups, want.groups.size(), want.groups.data()) != 0) return errno;
  }
  // setfsuid/setfsgid report no errors; init_credentials() probed them.
  if (all || t_current.gid != want.gid) ::syscall(SYS_setfsgid, want.gid);
  bool uid_changed = all || t_current.uid != want.uid;
  if (uid_changed) ::syscall(SYS_setfsuid, want.uid);
  // A change of fsuid to or from 0 also changes the effective file
  // capabilities: set them after it.
  if (uid_changed || t_current.caps != want.caps) {
    if (int err = set_effective_caps(want.caps)) return err;
  }
  t_current = want;
  t_valid = true;
  return 0;
}

// Parses "Name:\tvalues" lines of /proc/PID/status.
const char* field(const std::string& text, const char* name) {
  size_t len = std::strlen(name);
  size_t pos = 0;
  while (pos < text.size()) {
    if (text.compare(pos, len, name) == 0) return text.c_str() + pos + len;
    pos = text.find('\n', pos);
    if (pos == std::string::npos) break;
    ++pos;
  }
  return nullptr;
}

// The fourth value of "Uid:"/"Gid:" (real, effective, saved, fs).
bool fs_id(const char* p, uint32_t& out) {
  for (int i = 0; i < 4; ++i) {
    char* end = nullptr;
    unsigned long v = std::strtoul(p, &end, 10);
    if (end == p) return false;
    out = static_cast<uint32_t>(v);
    p = end;
  }
  return true;
}

// Whether open(2) failed for want of a descriptor (the daemon's or the
// system's table full): not a fact about the caller.
bool out_of_fds(int err) { return err == EMFILE || err == ENFILE; }

// The caller's groups and capabilities, as the daemon will hold them. A
// caller that cannot be read (gone, or outside the daemon's pid
// namespace: pid 0) or that changed its fsuid/fsgid since it asked gets
// no groups and no capabilities: the least the header allows. `error`:
// ENFILE when /proc could not be read for want of a descriptor (the
// request then fails instead of running with rights the caller may not
// lack).
Credentials load_caller(const fuse_in_header& in, int& error) {
  Credentials c;
  c.uid = in.uid;
  c.gid = in.gid;
  c.caps = g_daemon.keep;
  error = 0;
  if (in.pid == 0) return c;
  char path[32];
  std::snprintf(path, sizeof path, "/proc/%u/status", in.pid);
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (out_of_fds(errno)) error = ENFILE;
    return c;
  }
  thread_local std::string text;
  text.clear();
  read_all(fd, text);
  ::close(fd);
  uint32_t fsuid = 0, fsgid = 0;
  const char* uid = field(text, "Uid:");
  const char* gid = field(text, "Gid:");
  if (!uid || !gid || !fs_id(uid, fsuid) || !fs_id(gid, fsgid) || fsuid != in.uid ||
      fsgid != in.gid) {
    return c;
  }
  if (const char* groups = field(text, "Groups:")) {
    for (const char* p = groups;;) {
      char* end = nullptr;
      unsigned long g = std::strtoul(p, &end, 10);
      if (end == p) break;
      c.groups.push_back(static_cast<gid_t>(g));
      p = end;
    }
  }
  if (const char* eff = field(text, "CapEff:")) {
    c.caps = (std::strtoull(eff, nullptr, 16) & g_daemon.permitted) | g_daemon.keep;
  }
  return c;
}

const Credentials& caller(const fuse_in_header& in, uint64_t now, int& error) {
  CallerKey key{in.pid, in.uid, in.gid};
  error = 0;
  for (CacheEntry& e : t_cache) {
    if (e.used && e.key == key && now - e.loaded_ms < kCallerTtlMs) return e.creds;
  }
  CacheEntry& e = t_cache[t_next];
  t_next = (t_next + 1) % kCacheSize;
  e.key = key;
  e.loaded_ms = now;
  e.creds = load_caller(in, error);
  e.used = error == 0;  // a caller not read is read again next time
  return e.creds;
}

}  // namespace

void init_credentials() {
  uint64_t effective = 0;
  if (!get_caps(effective, g_daemon.permitted, g_daemon.inheritable)) return;
  g_daemon.own.uid = static_cast<uint32_t>(::geteuid());
  g_daemon.own.gid = static_cast<uint32_t>(::getegid());
  int n = ::getgroups(0, nullptr);
  if (n > 0) {
    g_daemon.own.groups.resize(static_cast<size_t>(n));
    n = ::getgroups(n, g_daemon.own.groups.data());
    g_daemon.own.groups.resize(n > 0 ? static_cast<size_t>(n) : 0);
  }
  g_daemon.own.caps = effective;
  uint64_t need = bit(CAP_SETUID) | bit(CAP_SETGID);
  if ((g_daemon.permitted & need) != need) return;
  g_daemon.keep = need;
  // Probe: the switch must take (setfsuid tells failure only by not
  // changing anything).
  t_valid = false;
  Credentials probe{65534, 65534, {}, need};
  bool ok = apply(probe) == 0 && ::syscall(SYS_setfsuid, -1) == 65534 &&
            ::syscall(SYS_setfsgid, -1) == 65534;
  t_valid = false;
  if (apply(g_daemon.own) != 0) {
    log_error("cannot restore the daemon's credentials: %s", std::strerror(errno));
    std::abort();
  }
  g_daemon.can_switch = ok;
}

bool can_act_as_callers() { return g_daemon.can_switch; }

bool daemon_has_capability(int cap) { return (g_daemon.permitted & bit(cap)) != 0; }

int act_as_caller(const fuse_in_header& in) {
  if (!g_daemon.can_switch) return 0;
  CallerKey key{in.pid, in.uid, in.gid};
  uint64_t now = now_ms();
  if (t_last_valid && t_valid && key == t_last && now - t_last_ms < kCallerTtlMs) return 0;
  t_last_valid = false;
  int error = 0;
  const Credentials& want = caller(in, now, error);
  if (error != 0) return error;
  if (int err = apply(want)) {
    log_warn("cannot act as uid %u gid %u: %s", in.uid, in.gid, std::strerror(err));
    return err;
  }
  // The fast path holds as long as the cache entry it stands for.
  t_last = key;
  t_last_ms = now;
  for (const CacheEntry& e : t_cache) {
    if (e.used && e.key == key) t_last_ms = e.loaded_ms;
  }
  t_last_valid = true;
  return 0;
}

std::string caller_comm(const fuse_in_header& in, int* error) {
  if (error != nullptr) *error = 0;
  if (in.pid == 0) return "";
  char path[32];
  std::snprintf(path, sizeof path, "/proc/%u/comm", in.pid);
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (error != nullptr && out_of_fds(errno)) *error = ENFILE;
    return "";
  }
  std::string comm;
  read_all(fd, comm);
  ::close(fd);
  if (!comm.empty() && comm.back() == '\n') comm.pop_back();
  return comm;
}

bool caller_in_group(const fuse_in_header& in, gid_t gid) {
  if (in.gid == gid) return true;
  int error = 0;  // not read: in no supplementary group
  const Credentials& c = caller(in, now_ms(), error);
  return std::find(c.groups.begin(), c.groups.end(), gid) != c.groups.end();
}

// The daemon's capabilities are what its own steps need (CAP_SYS_ADMIN
// for the backing ioctls, CAP_FOWNER to clear set-ID bits, and
// CAP_DAC_OVERRIDE for the kernel's later reopen of a backing file with
// these credentials): one capset each way, not a full switch.
PrivilegedScope::PrivilegedScope() {
  if (!g_daemon.can_switch) return;
  if (t_valid && t_current.caps == g_daemon.own.caps) return;  // a root caller
  restore_ = t_valid;
  if (restore_) saved_caps_ = t_current.caps;
  int err = restore_ ? set_effective_caps(g_daemon.own.caps) : apply(g_daemon.own);
  if (err != 0) {
    log_error("cannot take the daemon's capabilities back: %s", std::strerror(err));
    std::abort();
  }
  if (restore_) t_current.caps = g_daemon.own.caps;
}

PrivilegedScope::~PrivilegedScope() {
  if (!restore_) return;
  if (int err = set_effective_caps(saved_caps_)) {
    // Never leave the thread with more rights than its caller.
    log_error("cannot return to the caller's capabilities: %s", std::strerror(err));
    std::abort();
  }
  t_current.caps = saved_caps_;
}

}  // namespace fspol::runtime
