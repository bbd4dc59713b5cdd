#pragma once
// Confined access to the lower directory.
//
// Every path the daemon resolves is relative to the lower root's directory
// fd and goes through openat2(2) with RESOLVE_BENEATH |
// RESOLVE_NO_MAGICLINKS: a symlink, a `..` chain or a concurrent rename can
// make a resolution fail (EXDEV, ENOENT) but never leave the lower root.
// Operations on a single name use the *at() calls on a confined directory
// fd with AT_SYMLINK_NOFOLLOW, so the last component is never followed
// either. The daemon keeps no fd per inode: an inode is found again by its
// path (see inode_table.h), which is what lets a 20,000-fd limit serve
// trees of any size.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <utility>

namespace fspol::runtime {

// An owned file descriptor.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(std::exchange(other.fd_, -1));
    return *this;
  }
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

// openat2(2) confined beneath `dirfd`. Returns the fd, or -errno.
int open_beneath(int dirfd, const char* path, uint64_t flags, uint64_t mode = 0);

// "/proc/self/fd/N", for the few calls that have no *at() form (xattrs,
// chmod on old kernels); N is always an fd this daemon resolved itself.
std::string proc_fd_path(int fd);

// Appends everything left to read from `fd` to `out` (until EOF or an
// error other than EINTR).
void read_all(int fd, std::string& out);

// Whether the file system holding `dirfd` may resolve names whose bytes
// differ to one entry (case-insensitive or normalising: FAT, exFAT, NTFS,
// HFS+, SMB, ISO 9660, any FUSE file system such as another view, and
// ext4, f2fs, tmpfs or bcachefs when they can hold casefold directories).
// `kind` names the file system for the log.
bool may_alias_names(int dirfd, std::string& kind);

// chmod of `name` in `dirfd` without following a final symlink
// (fchmodat2 on Linux >= 6.6, an O_PATH fd otherwise). Returns 0 or -errno.
int chmod_nofollow(int dirfd, const char* name, mode_t mode);

}  // namespace fspol::runtime
