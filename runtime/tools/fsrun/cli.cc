#include "cli.h"

#include <cstring>

namespace fsrun {

const char* help_text() {
  return R"(usage: fsrun mount POLICY LOWER MNT [-o OPTIONS] [-f] [-d]
       fsrun umount MNT
       fsrun status [--json] [MNT]
       fsrun reload MNT [POLICY]
       mount.fspol LOWER MNT -o policy=POLICY[,OPTIONS]   (mount -t fspol, fstab)

Mounts the view of the lower directory LOWER that the policy POLICY (a
.fspol file) defines, on MNT. The daemon runs in the background unless -f.

Commands:
  mount     mount a view; returns once it is usable
  umount    unmount a view (also after its daemon died)
  status    mode, policy and request counters of one or every fspol mount
            (--json: one JSON object per mount, one per line)
  reload    compile POLICY (default: the serving policy's file again) as at
            mount and swap it in between requests; a policy with errors
            leaves the old one serving

Options:
  --mode auto|fuse-bpf|daemon
            who runs the policy (same as -o mode=): fuse-bpf runs its
            compiled programs in the kernel (a fuse-bpf kernel, see
            kernel/README.md) and the daemon only what the plan leaves to
            it; daemon serves everything from the daemon; auto (default)
            uses fuse-bpf where the kernel has it and says which it chose
  -o LIST   comma-separated mount options (below); may repeat
  -f        stay in the foreground (SIGINT/SIGTERM unmount cleanly)
  -d        debug: log the negotiated mode
  -h, --help

The policy is compiled and checked as `fsc check` does it; errors (and a
rule fsrun cannot apply as written) print as fsc prints them and nothing is
mounted. As for fsc:
  -I DIR              look for imported modules in DIR (before the stdlib)
  --stdlib=DIR        the stdlib modules directory
  --users=FILE        more user names, from a passwd-format FILE
  --groups=FILE       more group names, from a group-format FILE
  -Wno-NAME, -Werror  warnings

Mount options (the policy's `option`s are the defaults):
  cache=auto|never|always   kernel caching of file data (and, for never,
                            of names and attributes)
  entry_timeout=S, attr_timeout=S, negative_timeout=S, timeout=S
                            seconds the kernel may reuse names, attributes
                            and missing names (suffixes ms, s, m, h)
  passthrough[=BOOL]        kernel FUSE passthrough for file data (Linux >= 6.9)
  writeback[=BOOL]          writeback caching (ignored when passthrough is on)
  uring=auto|on|off         FUSE over io_uring queues, one per CPU (Linux >= 6.14):
                            auto when the kernel offers it, on also turns the
                            fuse module's enable_uring parameter on (root)
  allow_other[=BOOL]        let other users in (default: on when root)
  default_permissions[=BOOL]  kernel checks mode bits against the caller (on)
  threads=N                 worker threads (0: sized for the machine)
  max_write=BYTES           largest write request (4096..1048576)
  fsname=NAME               source shown in /proc/mounts
  lower.NAME=DIR            where the policy's `lower NAME` root is, for
                            its redirects (instead of the policy's path)
  mode=auto|fuse-bpf|daemon as --mode
  bpf=FILE                  fuse-bpf mode: the policy's programs as
                            `fsc compile --target=PROFILE --emit=bpf-obj`
                            built them (default: fsrun runs fsc, found next
                            to fsrun or on PATH, with the -I/--stdlib above)
  log=FILE                  daemon log after startup
  ro, nosuid, nodev, noexec, noatime, ...   passed to the kernel
Exit status: 0 success, 1 failure, 2 usage error.
)";
}

namespace {

bool is_mount_helper(const char* argv0) {
  const char* base = std::strrchr(argv0, '/');
  base = base ? base + 1 : argv0;
  return std::strncmp(base, "mount.fspol", 11) == 0 || std::strncmp(base, "mount.fuse.fspol", 16) == 0;
}

// Collects -o/-f/-d and positionals.
std::string scan(int argc, char** argv, int first, Args& args, std::vector<std::string>& pos,
                 bool helper) {
  for (int i = first; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      args.help = true;
      return "";
    }
    if (a == "-o") {
      if (i + 1 >= argc) return "-o needs an argument";
      args.option_lists.push_back(argv[++i]);
    } else if (a.rfind("-o", 0) == 0 && a.size() > 2) {
      args.option_lists.push_back(a.substr(2));
    } else if (a == "-I" || (a.rfind("-I", 0) == 0 && a.size() > 2)) {
      if (a.size() > 2) {
        args.compile.import_dirs.push_back(a.substr(2));
      } else if (i + 1 < argc) {
        args.compile.import_dirs.push_back(argv[++i]);
      } else {
        return "-I needs a directory";
      }
    } else if (a.rfind("--stdlib=", 0) == 0) {
      args.compile.stdlib_dir = a.substr(9);
    } else if (a.rfind("--users=", 0) == 0) {
      args.compile.user_files.push_back(a.substr(8));
    } else if (a.rfind("--groups=", 0) == 0) {
      args.compile.group_files.push_back(a.substr(9));
    } else if (a == "-Werror") {
      args.compile.warnings.as_errors = true;
    } else if (a.rfind("-Wno-", 0) == 0 && a.size() > 5) {
      args.compile.warnings.disabled.push_back(a.substr(5));
    } else if (a == "--mode" || a.rfind("--mode=", 0) == 0) {
      if (a == "--mode" && i + 1 >= argc) return "--mode needs auto, fuse-bpf or daemon";
      args.option_lists.push_back("mode=" + (a == "--mode" ? std::string(argv[++i]) : a.substr(7)));
    } else if (a == "-f") {
      args.foreground = true;
    } else if (a == "-d") {
      args.debug = true;
    } else if (a == "--json") {
      args.json = true;
    } else if (helper && (a == "-s" || a == "-n" || a == "-v")) {
      // mount(8) helper flags: sloppy, no mtab, verbose; nothing to do.
    } else if (a.size() > 1 && a[0] == '-') {
      return "unknown option '" + a + "'";
    } else {
      pos.push_back(a);
    }
  }
  return "";
}

}  // namespace

std::string parse_args(int argc, char** argv, Args& args) {
  std::vector<std::string> pos;
  if (argc >= 1 && is_mount_helper(argv[0])) {
    args.command = Command::kMount;
    std::string err = scan(argc, argv, 1, args, pos, true);
    if (args.help) args.command = Command::kHelp;
    if (!err.empty() || args.help) return err;
    if (pos.size() != 2) return "usage: mount.fspol LOWER MNT -o policy=FILE[,options]";
    args.lower = pos[0];
    args.mountpoint = pos[1];
    for (const std::string& list : args.option_lists) {
      size_t p = list.find("policy=");
      while (p != std::string::npos && p != 0 && list[p - 1] != ',') p = list.find("policy=", p + 1);
      if (p != std::string::npos) {
        size_t end = list.find(',', p);
        args.policy = list.substr(p + 7, end == std::string::npos ? std::string::npos : end - p - 7);
      }
    }
    if (args.policy.empty()) return "mount.fspol needs -o policy=FILE";
    return "";
  }
  if (argc < 2) return "no command";
  std::string cmd = argv[1];
  if (cmd == "-h" || cmd == "--help" || cmd == "help") {
    args.command = Command::kHelp;
    return "";
  }
  std::string err = scan(argc, argv, 2, args, pos, false);
  if (args.help) args.command = Command::kHelp;
  if (!err.empty() || args.help) return err;
  if (cmd == "mount") {
    args.command = Command::kMount;
    if (pos.size() != 3) return "mount needs POLICY LOWER MNT";
    // policy= is mount.fspol's way to name the policy; here POLICY does.
    for (const std::string& list : args.option_lists) {
      if (list.rfind("policy=", 0) == 0 || list.find(",policy=") != std::string::npos) {
        return "-o policy=FILE is for mount.fspol; fsrun mount takes the policy as POLICY";
      }
    }
    args.policy = pos[0];
    args.lower = pos[1];
    args.mountpoint = pos[2];
  } else if (cmd == "umount" || cmd == "unmount") {
    args.command = Command::kUmount;
    if (pos.size() != 1) return "umount needs MNT";
    args.mountpoint = pos[0];
  } else if (cmd == "reload") {
    args.command = Command::kReload;
    if (pos.empty() || pos.size() > 2) return "reload needs MNT [POLICY]";
    args.mountpoint = pos[0];
    if (pos.size() == 2) args.policy = pos[1];
  } else if (cmd == "status") {
    args.command = Command::kStatus;
    if (pos.size() > 1) return "status takes at most one MNT";
    if (!pos.empty()) args.mountpoint = pos[0];
  } else {
    return "unknown command '" + cmd + "'";
  }
  return "";
}

}  // namespace fsrun
