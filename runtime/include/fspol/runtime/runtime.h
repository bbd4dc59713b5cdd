#pragma once
// libfspol_runtime: mount a policy's view of a lower directory.
//
//   std::ostringstream diags;
//   auto policy = fspol::runtime::load_policy("examples/passthrough.fspol", diags);
//   if (!policy) { std::cerr << diags.str(); return 1; }
//   fspol::runtime::MountOptions options;
//   options.lower = "/srv/data";
//   options.mountpoint = "/mnt/view";
//   apply_policy_options(*policy, options);   // the policy's `option`s
//   std::string err = apply_mount_options(options, "allow_other,ro");
//   fspol::Result<void> served = fspol::runtime::serve(*policy, options, {});
//
// serve() mounts, runs the daemon until the view is unmounted (or SIGINT/
// SIGTERM arrive, when it unmounts itself) and returns. The daemon answers
// `fsrun status` through a control socket (control_socket_path()).

#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include "fspol/result.h"
#include "fspol/runtime/options.h"

namespace fspol::runtime {

// The runtime's view of a loaded policy.
struct Policy {
  std::string path;
  std::string name;
  size_t rule_count = 0;
  // The policy's `option name = value;` settings, as written (durations in
  // seconds, booleans as "true"/"false").
  std::vector<std::pair<std::string, std::string>> options;
};

// Parses a .fspol file with the compiler front end. On errors in the
// policy, the compiler's diagnostics are rendered to `diagnostics` and the
// Error says how many; I/O failures come back as Errors too.
Result<Policy> load_policy(const std::string& path, std::ostream& diagnostics);

// Copies the policy's mount settings into `options` (command-line -o
// options applied afterwards win).
void apply_policy_options(const Policy& policy, MountOptions& options);

struct ServeHooks {
  // Called once the view is mounted and the kernel handshake is done (e.g.
  // to let a parent process exit). The string describes the mode.
  std::function<void(const std::string& mode)> ready;
};

// Mounts and serves until unmounted. Installs SIGINT/SIGTERM/SIGHUP
// handling (clean unmount) for the calling process.
Result<void> serve(const Policy& policy, const MountOptions& options, const ServeHooks& hooks);

// Where the daemon of `mountpoint` listens for status queries.
std::string control_socket_path(const std::string& mountpoint);
// Asks the daemon of `mountpoint` for its status report (text).
Result<std::string> query_status(const std::string& mountpoint);
// fspol mounts of this machine (from /proc/self/mountinfo).
std::vector<std::string> list_mounts();
// Unmounts `mountpoint` (umount2 as root, fusermount3 -u otherwise); works
// when the daemon is gone too (the mount then answers ENOTCONN).
Result<void> unmount(const std::string& mountpoint);

}  // namespace fspol::runtime
