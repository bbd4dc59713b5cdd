#pragma once
// Every lower operation runs with the caller's rights (docs/runtime.md,
// "Who the lower filesystem sees").
//
// Linux credentials are per thread, so before a handler touches the lower
// directory the serving thread takes on the caller's: fsuid and fsgid from
// the request header, the supplementary groups and effective capabilities
// of the calling thread from /proc/PID/status (what the kernel would use
// for the same call made directly). The lower filesystem's own permission
// checks, ownership of new files, set-ID clearing and sticky directories
// then apply to the caller. A root daemon never lends its rights.
//
// Cost: a thread keeps what it has set and changes only what differs (a
// change of caller costs 3-5 system calls, ~2-6 us); /proc is read once
// per calling thread per kCallerTtlMs (a per-thread cache of a few callers,
// keyed by pid, fsuid and fsgid).
//
//   if (int err = act_as_caller(*call.in)) return err;   // dispatch
//   { PrivilegedScope daemon; ioctl(...); }               // a daemon-only step

#include <linux/fuse.h>
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace fspol::runtime {

// What a lower operation runs as: fsuid, fsgid, supplementary groups and
// effective capabilities (bit N is capability N).
struct Credentials {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::vector<gid_t> groups;
  uint64_t caps = 0;
  bool operator==(const Credentials&) const = default;
};

// How long a caller's groups and capabilities are reused before /proc is
// read again: the window in which a process that dropped groups or
// capabilities without changing fsuid/fsgid still acts with the old ones
// through the view. Short enough that a pid cannot be reused within it
// (the kernel hands out pids cyclically; reuse needs pid_max forks).
inline constexpr uint64_t kCallerTtlMs = 20;

// Probes the daemon's own credentials once (at startup, on the main
// thread). Switching is possible when the daemon holds CAP_SETUID and
// CAP_SETGID; otherwise every operation runs as the daemon's user, which
// is then the only user allowed in (see serve()).
void init_credentials();
bool can_act_as_callers();
// Whether the daemon holds `cap` (a CAP_* number) in its permitted set, as
// init_credentials() found it.
bool daemon_has_capability(int cap);

// Makes the calling thread act as the caller of `in`. Returns 0, or an
// errno when the switch failed (the request must then fail: running it
// with other credentials is not an option), ENFILE when the caller's
// groups and capabilities could not be read for want of a descriptor. A
// no-op when switching is not possible.
int act_as_caller(const fuse_in_header& in);

// The process name of the caller of `in` (its thread's comm, as the
// kernel keeps it), read afresh: a name changes with exec, and a rule on
// it must see the new one. "" when it cannot be read; then `error`, if
// given, is ENFILE when that was for want of a descriptor (a rule must
// not decide on a name the daemon failed to read), else 0.
std::string caller_comm(const fuse_in_header& in, int* error = nullptr);

// Whether the caller of `in` is in group `gid` (its fsgid or one of its
// supplementary groups), as the kernel's in_group_p() would answer.
bool caller_in_group(const fuse_in_header& in, gid_t gid);

// The daemon's own capabilities for a step the daemon takes on its own
// behalf (registering a passthrough backing file, clearing set-ID bits the
// kernel asked it to clear); the thread's previous capabilities return at
// the end of the scope.
class PrivilegedScope {
 public:
  PrivilegedScope();
  ~PrivilegedScope();
  PrivilegedScope(const PrivilegedScope&) = delete;
  PrivilegedScope& operator=(const PrivilegedScope&) = delete;

 private:
  bool restore_ = false;
  uint64_t saved_caps_ = 0;
};

}  // namespace fspol::runtime
