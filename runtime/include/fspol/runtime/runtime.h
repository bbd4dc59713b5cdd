#pragma once
// libfspol_runtime: mount a policy's view of a lower directory.
//
//   auto policy = fspol::runtime::load_policy("examples/passthrough.fspol", {}, std::cerr);
//   if (!policy) { std::cerr << policy.error().message << "\n"; return 1; }
//   fspol::runtime::MountOptions options = policy->settings;  // the policy's `option`s
//   options.lower = "/srv/data";
//   options.mountpoint = "/mnt/view";
//   std::string err = apply_mount_options(options, "allow_other,ro");
//   fspol::Result<void> served = fspol::runtime::serve(*policy, options, {});
//
// serve() mounts, runs the daemon until the view is unmounted (or SIGINT/
// SIGTERM arrive, when it unmounts itself) and returns. The daemon answers
// `fsrun status` and `fsrun reload` through a control socket
// (control_socket_path()).

#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fspol/compiler.h"
#include "fspol/result.h"
#include "fspol/runtime/handler.h"
#include "fspol/runtime/options.h"

namespace fspol::runtime {

class Engine;

// The runtime's view of a loaded policy.
struct Policy {
  std::string path;
  std::string name;
  size_t rule_count = 0;
  // Executes the policy's decision tables (runtime/policy/engine.h).
  std::shared_ptr<const Engine> engine;
  // The handlers the policy's `handle` rules name, by rule id (null for
  // rules of other kinds).
  std::vector<std::shared_ptr<const Handler>> handlers;
  // The mount settings with the policy's `option`s applied: start from
  // these, then apply -o lists (apply_mount_options), which win.
  MountOptions settings;
};

// Compiles a .fspol file with the whole compiler front end (as `fsc
// check`) and holds every rule against what the runtime applies. Errors
// and warnings are rendered to `diagnostics`; a policy with errors, a
// module, a rule the runtime does not enforce yet, or a handler missing
// from `handlers` (located errors naming the rule) comes back as an
// Error, and must not be mounted. I/O failures come back as Errors too.
Result<Policy> load_policy(const std::string& path, const CompileOptions& compile_options,
                           std::ostream& diagnostics, const RenderOptions& render = {},
                           const HandlerRegistry& handlers = HandlerRegistry::builtin());

// A policy fsc compiled (the bytes `fsc compile --emit=stub` embeds,
// ir/codec.h), ready to serve: nothing is compiled again, and what fsrun
// cannot apply is refused as load_policy refuses it, in the message, each
// located at its rule ("file:line:col: error: ..."). `name` names the
// policy in messages and in `fsrun status`.
Result<Policy> load_compiled_policy(std::string_view compiled, const std::string& name,
                                    const HandlerRegistry& handlers = HandlerRegistry::builtin());

struct ServeHooks {
  // Called once the view is mounted and the kernel handshake is done (e.g.
  // to let a parent process exit). The string describes the mode.
  std::function<void(const std::string& mode)> ready;
  // How `fsrun reload` compiles a policy (the mount's compile options and
  // handlers; load_policy, diagnostics to the stream). Unset: no reload.
  std::function<Result<Policy>(const std::string& path, std::ostream& diagnostics)> load;
  // fuse-bpf mode: compiles the programs of the policy at `path` for the
  // kernel profile `profile` (as `fsc compile --target=PROFILE
  // --emit=bpf-obj`) and returns the object; at mount without -o bpf=FILE,
  // and on `fsrun reload`. Unset: such a mount needs -o bpf=FILE, and
  // cannot be reloaded.
  std::function<Result<std::string>(const std::string& path, const std::string& profile)>
      compile_programs;
};

// Mounts and serves until unmounted. Installs SIGINT/SIGTERM/SIGHUP
// handling (clean unmount) for the calling process.
Result<void> serve(const Policy& policy, const MountOptions& options, const ServeHooks& hooks);

// Where the daemon of `mountpoint` listens for status queries.
std::string control_socket_path(const std::string& mountpoint);
// Asks the daemon of `mountpoint` for its status report (text, or one
// JSON object). An Error with code ETIMEDOUT when a daemon is there but
// does not answer within 5 s (stopped, stuck); another when none is.
Result<std::string> query_status(const std::string& mountpoint, bool json = false);
// Has the daemon of `mountpoint` compile `policy_path` (absolute; empty:
// the serving policy's file again) and swap it in between requests
// (FsState::reload). The report, or an Error whose message holds the
// diagnostics and the reason (ETIMEDOUT: no answer within 60 s); then the
// old policy keeps serving.
Result<std::string> reload_policy(const std::string& mountpoint, const std::string& policy_path);
// fspol mounts of this machine (from /proc/self/mountinfo).
std::vector<std::string> list_mounts();
// Unmounts `mountpoint` (umount2 as root, fusermount3 -u otherwise); works
// when the daemon is gone too (the mount then answers ENOTCONN; its
// control socket is removed) and when it is stopped (it exits once
// continued; this returns without waiting for it).
Result<void> unmount(const std::string& mountpoint);

}  // namespace fspol::runtime
