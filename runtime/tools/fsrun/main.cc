// fsrun: mount, inspect and unmount fspol views. A thin command over
// libfspol_runtime; also answers as mount.fspol (fstab and mount(8)).
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "cli.h"
#include "fspol/runtime/runtime.h"

namespace {

using namespace fspol::runtime;  // NOLINT: a tool's main file

constexpr int kExitOk = 0;
constexpr int kExitFail = 1;
constexpr int kExitUsage = 2;

int usage_error(const std::string& message) {
  std::cerr << "fsrun: error: " << message << "\nTry 'fsrun --help'.\n";
  return kExitUsage;
}

// Forks the daemon. The child serves; the parent waits until the view is
// mounted (or failed) and reports, so `fsrun mount` returns only when the
// view is usable, like mount(8).
int mount_background(const Policy& policy, const MountOptions& options, const ServeHooks& base) {
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) {
    std::perror("fsrun: pipe");
    return kExitFail;
  }
  pid_t pid = ::fork();
  if (pid < 0) {
    std::perror("fsrun: fork");
    return kExitFail;
  }
  if (pid == 0) {
    ::close(pipefd[0]);
    ::setsid();
    int devnull = ::open("/dev/null", O_RDWR);
    ::dup2(devnull, 0);
    ::dup2(devnull, 1);
    ::dup2(pipefd[1], 2);  // startup messages reach the parent
    if (::chdir("/") != 0) ::_exit(kExitFail);
    ServeHooks hooks = base;
    hooks.ready = [&](const std::string& mode) {
      std::string line = "\x01" "READY " + mode + "\n";
      (void)!::write(pipefd[1], line.data(), line.size());
      int log = options.log_file.empty()
                    ? devnull
                    : ::open(options.log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
                             0644);
      ::dup2(log < 0 ? devnull : log, 2);
      ::close(pipefd[1]);
    };
    auto served = serve(policy, options, hooks);
    if (!served) {
      std::fprintf(stderr, "fsrun: error: %s\n", served.error().message.c_str());
      ::_exit(kExitFail);
    }
    ::_exit(kExitOk);
  }
  ::close(pipefd[1]);
  std::string text;
  char buf[512];
  for (;;) {
    ssize_t n = ::read(pipefd[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(pipefd[0]);
  size_t ready = text.find("\x01" "READY ");
  std::cerr << text.substr(0, ready);
  if (ready == std::string::npos) return kExitFail;
  if (options.debug) std::cerr << "fsrun: " << text.substr(ready + 7);
  return kExitOk;
}

// Diagnostics in colour as fsc does it: on a terminal, unless NO_COLOR.
fspol::RenderOptions render_options() {
  return fspol::RenderOptions{::isatty(STDERR_FILENO) == 1 && std::getenv("NO_COLOR") == nullptr};
}

// Relative paths name files from the caller's working directory, as for
// mount(8), also after the daemon has moved to "/".
std::string absolute(const std::string& path) {
  if (path.empty() || path[0] == '/') return path;
  std::error_code ec;
  std::filesystem::path p = std::filesystem::absolute(path, ec);
  return ec ? path : p.lexically_normal().string();
}

// fsc: next to this fsrun (a build or an install tree), else on PATH.
std::string find_fsc() {
  std::error_code ec;
  std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    std::filesystem::path next = self.parent_path() / "fsc";
    if (::access(next.c_str(), X_OK) == 0) return next.string();
  }
  return "fsc";
}

// The policy's fuse_ops object for `profile`, built by fsc (its messages
// go to our stderr).
fspol::Result<std::string> compile_programs(const fsrun::Args& args, const std::string& policy,
                                            const std::string& profile) {
  char path[] = "/tmp/fsrun-XXXXXX.bpf.o";
  int fd = ::mkstemps(path, 6);
  if (fd < 0) return fspol::Error{errno, std::string("mkstemps: ") + std::strerror(errno)};
  ::close(fd);
  std::vector<std::string> argv_s = {find_fsc(),       "compile", "--target=" + profile,
                                     "--emit=bpf-obj", "-o",      path};
  for (const std::string& dir : args.compile.import_dirs) argv_s.push_back("-I" + dir);
  if (!args.compile.stdlib_dir.empty()) argv_s.push_back("--stdlib=" + args.compile.stdlib_dir);
  for (const std::string& f : args.compile.user_files) argv_s.push_back("--users=" + f);
  for (const std::string& f : args.compile.group_files) argv_s.push_back("--groups=" + f);
  argv_s.push_back(policy);
  std::vector<char*> argv;
  for (std::string& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::execvp(argv[0], argv.data());
    std::fprintf(stderr, "fsrun: cannot run %s: %s\n", argv[0], std::strerror(errno));
    ::_exit(127);
  }
  int status = 0;
  if (pid < 0 || ::waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    ::unlink(path);
    return fspol::Error{EINVAL, "fsc could not compile the policy's programs for " + profile +
                                    (WIFEXITED(status) && WEXITSTATUS(status) == 127
                                         ? " (no fsc next to fsrun nor on PATH: give -o bpf=FILE)"
                                         : "")};
  }
  std::string object;
  fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    char buf[65536];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) object.append(buf, static_cast<size_t>(n));
    ::close(fd);
  }
  ::unlink(path);
  return object;
}

// The words for a file type that is not a policy file.
const char* file_type_text(mode_t mode) {
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

int cmd_mount(const fsrun::Args& args) {
  // -o first: a usage error needs no policy compiled (the same lists are
  // applied for real, over the policy's options, below).
  for (const std::string& list : args.option_lists) {
    MountOptions scratch;
    std::string err = apply_mount_options(scratch, list);
    if (!err.empty()) return usage_error(err);
  }
  // A policy is a regular file: it is read again by `fsrun reload`, and a
  // FIFO would give its text once (or, without a writer, none).
  struct stat st {};
  if (args.policy != "-" && ::stat(args.policy.c_str(), &st) == 0 && !S_ISREG(st.st_mode) &&
      !S_ISDIR(st.st_mode)) {
    std::cerr << "fsrun: error: " << args.policy << ": is " << file_type_text(st.st_mode)
              << ", not a policy file (fsrun reads it again on `fsrun reload`)\n";
    return kExitFail;
  }
  auto policy = load_policy(args.policy, args.compile, std::cerr, render_options());
  if (!policy) {
    std::cerr << "fsrun: error: " << policy.error().message << "\n";
    return kExitFail;
  }
  policy->path = absolute(args.policy);
  MountOptions options = policy->settings;
  options.policy_path = policy->path;
  options.lower = absolute(args.lower);
  options.mountpoint = absolute(args.mountpoint);
  options.foreground = args.foreground;
  for (const std::string& list : args.option_lists) {
    std::string err = apply_mount_options(options, list);
    if (!err.empty()) return usage_error(err);
  }
  if (args.debug) options.debug = true;
  options.log_file = absolute(options.log_file);
  for (auto& root : options.lower_roots) root.second = absolute(root.second);
  // LOWER, MNT and the policy's lower roots are checked by serve(), in the
  // daemon (docs/runtime.md, "Bad mount inputs").
  ServeHooks hooks;
  // `fsrun reload` compiles with the mount's -I, --stdlib, --users, -W.
  hooks.load = [compile = args.compile](const std::string& path, std::ostream& diagnostics) {
    return load_policy(path, compile, diagnostics);
  };
  hooks.compile_programs = [&args](const std::string& path, const std::string& profile) {
    return compile_programs(args, path, profile);
  };
  if (!options.foreground) return mount_background(*policy, options, hooks);
  hooks.ready = [&](const std::string& mode) {
    std::cerr << "fsrun: " << options.mountpoint << ": " << mode << "\n";
  };
  auto served = serve(*policy, options, hooks);
  if (!served) {
    std::cerr << "fsrun: error: " << served.error().message << "\n";
    return kExitFail;
  }
  return kExitOk;
}

int cmd_umount(const fsrun::Args& args) {
  auto r = unmount(absolute(args.mountpoint));
  if (!r) {
    std::cerr << "fsrun: error: " << r.error().message << "\n";
    return kExitFail;
  }
  return kExitOk;
}

int cmd_status(const fsrun::Args& args) {
  std::vector<std::string> mounts;
  if (!args.mountpoint.empty()) {
    mounts.push_back(args.mountpoint);
  } else {
    mounts = list_mounts();
    if (mounts.empty()) {
      std::cout << "no fspol mounts\n";
      return kExitOk;
    }
  }
  int rc = kExitOk;
  for (size_t i = 0; i < mounts.size(); ++i) {
    auto text = query_status(mounts[i], args.json);
    if (i != 0 && !args.json) std::cout << "\n";
    // A daemon that does not answer (stopped, stuck) is not a dead one:
    // its view still holds callers' requests, unanswered.
    bool silent = !text && text.error().code == ETIMEDOUT;
    if (!text && args.json) {
      std::cout << "{\"mountpoint\": \"" << mounts[i] << "\", \"state\": \""
                << (silent ? "not answering" : "no daemon") << "\"}\n";
      rc = kExitFail;
      continue;
    }
    if (silent) {
      std::cout << "mountpoint: " << mounts[i] << "\nstate: not answering (" << text.error().message
                << ")\n";
      rc = kExitFail;
      continue;
    }
    if (!text) {
      std::cout << "mountpoint: " << mounts[i] << "\nstate: no daemon (" << text.error().message
                << "); `fsrun umount " << mounts[i] << "` cleans up\n";
      rc = kExitFail;
      continue;
    }
    std::cout << *text;
  }
  return rc;
}

int cmd_reload(const fsrun::Args& args) {
  std::string policy = args.policy.empty() ? "" : absolute(args.policy);
  auto report = reload_policy(absolute(args.mountpoint), policy);
  if (!report) {
    std::string why = report.error().message;
    if (!why.empty() && why.back() != '\n') why += '\n';
    std::cerr << why << "fsrun: error: " << args.mountpoint
              << ": not reloaded; the old policy keeps serving\n";
    return kExitFail;
  }
  std::cout << *report;
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    fsrun::Args args;
    std::string err = fsrun::parse_args(argc, argv, args);
    if (!err.empty()) return usage_error(err);
    switch (args.command) {
      case fsrun::Command::kHelp:
        std::cout << fsrun::help_text();
        return kExitOk;
      case fsrun::Command::kMount:
        return cmd_mount(args);
      case fsrun::Command::kUmount:
        return cmd_umount(args);
      case fsrun::Command::kStatus:
        return cmd_status(args);
      case fsrun::Command::kReload:
        return cmd_reload(args);
    }
  } catch (const std::exception& e) {
    std::cerr << "fsrun: fatal: " << e.what() << "\n";
  }
  return kExitFail;
}
