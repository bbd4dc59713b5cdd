#include "fuse/lower.h"

#include <linux/openat2.h>
#include <sys/syscall.h>

#include <cerrno>
#include <cstring>

namespace fspol::runtime {

int open_beneath(int dirfd, const char* path, uint64_t flags, uint64_t mode) {
  open_how how{};
  how.flags = flags | O_CLOEXEC;
  how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  for (;;) {
    long fd = ::syscall(SYS_openat2, dirfd, path, &how, sizeof how);
    if (fd >= 0) return static_cast<int>(fd);
    // EAGAIN: a concurrent rename raced the lookup; the kernel asks us to
    // retry rather than risk an escape.
    if (errno != EAGAIN && errno != EINTR) return -errno;
  }
}

std::string proc_fd_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

void read_all(int fd, std::string& out) {
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
}

int chmod_nofollow(int dirfd, const char* name, mode_t mode) {
#ifndef SYS_fchmodat2
  constexpr long kSysFchmodat2 = 452;  // x86_64 and the generic table
#else
  constexpr long kSysFchmodat2 = SYS_fchmodat2;
#endif
  static bool have_fchmodat2 = true;
  if (have_fchmodat2) {
    if (::syscall(kSysFchmodat2, dirfd, name, mode, AT_SYMLINK_NOFOLLOW) == 0) return 0;
    if (errno != ENOSYS) return -errno;
    have_fchmodat2 = false;
  }
  int fd = open_beneath(dirfd, name, O_PATH | O_NOFOLLOW);
  if (fd < 0) return fd;
  UniqueFd guard(fd);
  struct stat st{};
  if (::fstat(fd, &st) != 0) return -errno;
  if (S_ISLNK(st.st_mode)) return -EOPNOTSUPP;
  if (::chmod(proc_fd_path(fd).c_str(), mode) != 0) return -errno;
  return 0;
}

}  // namespace fspol::runtime
