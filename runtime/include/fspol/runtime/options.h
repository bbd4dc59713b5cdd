#pragma once
// Mount settings of one fspol view: what the policy fixes, overridden by
// mount(8)-style `-o` options on the command line.
//
// Caching model. Three layers, each with its own switch:
//  - names and attributes: `entry_timeout`, `attr_timeout` and
//    `negative_timeout` (seconds the kernel may reuse an answer; 0 asks the
//    daemon every time);
//  - file data: `cache=always` keeps the page cache across opens
//    (FOPEN_KEEP_CACHE), `cache=auto` drops it when the file changed
//    (mtime/size seen at open), `cache=never` bypasses it (direct I/O, and
//    every timeout forced to 0);
//  - `passthrough` hands a regular file's reads and writes to the kernel
//    (FUSE passthrough, Linux >= 6.9), which then never reach the daemon;
//    `writeback` lets the kernel batch writes (exclusive with passthrough:
//    the kernel refuses the pair, so passthrough wins when both are asked).
// The engine turns name and attribute caching off for the nodes where a
// caller-dependent rule would make a cached answer wrong
// (runtime/policy/engine.h, Engine::cache).

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace fspol::runtime {

enum class CacheMode : uint8_t { kAuto, kNever, kAlways };

// FUSE over io_uring: `auto` uses it when the kernel offers it (the fuse
// module's enable_uring parameter is on), `on` also turns that parameter
// on (root only), `off` stays on /dev/fuse reads and writes.
enum class UringMode : uint8_t { kAuto, kOn, kOff };

// Who runs the policy: `fuse-bpf` its compiled programs in the kernel
// (the daemon serves what the plan leaves to it), `daemon` the daemon
// alone; `auto` fuse-bpf where the kernel has it.
enum class RunMode : uint8_t { kAuto, kFuseBpf, kDaemon };

struct MountOptions {
  std::string policy_path;  // the .fspol file
  std::string lower;        // the lower directory
  // Lower roots for redirects by name (-o lower.NAME=PATH), over the
  // policy's `lower NAME = "PATH";`.
  std::vector<std::pair<std::string, std::string>> lower_roots;
  std::string mountpoint;

  CacheMode cache = CacheMode::kAuto;
  double entry_timeout = 1.0;     // seconds
  double attr_timeout = 1.0;      // seconds
  double negative_timeout = 1.0;  // seconds
  bool writeback = false;
  bool passthrough = true;
  UringMode uring = UringMode::kAuto;
  RunMode mode = RunMode::kAuto;
  // fuse-bpf mode: the policy's programs as `fsc compile --emit=bpf-obj`
  // built them (-o bpf=FILE); empty: fsrun has fsc compile them.
  std::string bpf_object;
  bool allow_other = false;  // default: on when the daemon can act as each caller (root)
  bool allow_other_set = false;
  bool default_permissions = true;
  bool foreground = false;
  bool debug = false;
  unsigned threads = 0;  // 0: sized for the machine
  uint32_t max_write = 1U << 20;
  std::string fsname;
  // -o options the runtime does not interpret, handed to the kernel mount
  // (e.g. ro, noexec, nosuid, nodev).
  std::vector<std::string> kernel_options;
  // Where status and log files go (a control socket per mount).
  std::string log_file;
  // Where audit records go (the policy's audit_log; for audit rules).
  std::string audit_log;
};

// Applies one comma-separated `-o` list. Returns an empty string on
// success, else a message naming the bad option.
std::string apply_mount_options(MountOptions& options, const std::string& list);

}  // namespace fspol::runtime
