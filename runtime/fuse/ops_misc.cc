// Extended attributes and access().
//
// xattr calls have no *at() form before Linux 6.13, so they go through
// /proc/self/fd/N of an O_PATH fd that was resolved beneath the lower root
// (the magic link then names exactly that inode). Symlinks carry no user
// xattrs on Linux; their other namespaces are not served (ENODATA/EPERM).
#include <fcntl.h>
#include <linux/limits.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "fuse/fs.h"

namespace fspol::runtime {

int FsState::op_setxattr(const Call& call) {
  // Without FUSE_SETXATTR_EXT the argument is the 8-byte compat form.
  if (call.arglen < FUSE_COMPAT_SETXATTR_IN_SIZE) return EINVAL;
  const auto* u = reinterpret_cast<const uint32_t*>(call.arg);
  uint32_t size = u[0];
  int flags = static_cast<int>(u[1]);
  const char* name = call.arg + FUSE_COMPAT_SETXATTR_IN_SIZE;
  size_t rest = call.arglen - FUSE_COMPAT_SETXATTR_IN_SIZE;
  size_t nlen = strnlen(name, rest);
  if (nlen == rest || rest - nlen - 1 < size) return EINVAL;
  const char* value = name + nlen + 1;
  Inode* inode = node(call.in->nodeid);
  if (inode->type == S_IFLNK) return EPERM;
  UniqueFd fd;
  int r = open_node(inode, O_PATH, fd);
  if (r < 0) return -r;
  if (::setxattr(proc_fd_path(fd.get()).c_str(), name, value, size, flags) != 0) return errno;
  reply_data(call, nullptr, 0);
  return 0;
}

int FsState::op_getxattr(const Call& call) {
  const auto* in = call.args<fuse_getxattr_in>();
  if (in == nullptr) return EINVAL;
  const char* name = call.tail<fuse_getxattr_in>();
  if (strnlen(name, call.tail_len<fuse_getxattr_in>()) == call.tail_len<fuse_getxattr_in>()) {
    return EINVAL;
  }
  Inode* inode = node(call.in->nodeid);
  if (inode->type == S_IFLNK) return ENODATA;
  if (inode->type == S_IFREG) {
    // Every write to a FUSE file asks for security.capability (the kernel
    // never marks FUSE inodes S_NOSEC, and passthrough writes remove
    // privileges on the FUSE file first): answer from an open handle of
    // the file, without resolving its path, when there is one. (The
    // kernel never asks for more than XATTR_SIZE_MAX bytes.)
    std::vector<char> buf(std::min<size_t>(in->size, XATTR_SIZE_MAX));
    ssize_t n = -2;
    {
      std::lock_guard lock(InodeTable::open_lock(inode));
      if (inode->handles != nullptr) {
        n = ::fgetxattr(inode->handles->fd.get(), name, in->size ? buf.data() : nullptr,
                        buf.size());
        if (n < 0) n = -errno;
      }
    }
    if (n != -2) {
      if (n < 0) return static_cast<int>(-n);
      if (in->size == 0) {
        fuse_getxattr_out out{};
        out.size = static_cast<uint32_t>(n);
        reply(call, out);
      } else {
        reply_data(call, buf.data(), static_cast<size_t>(n));
      }
      return 0;
    }
  }
  UniqueFd fd;
  int r = open_node(inode, O_PATH, fd);
  if (r < 0) return -r;
  std::string path = proc_fd_path(fd.get());
  if (in->size == 0) {
    ssize_t n = ::getxattr(path.c_str(), name, nullptr, 0);
    if (n < 0) return errno;
    fuse_getxattr_out out{};
    out.size = static_cast<uint32_t>(n);
    reply(call, out);
    return 0;
  }
  std::vector<char> buf(std::min<size_t>(in->size, XATTR_SIZE_MAX));
  ssize_t n = ::getxattr(path.c_str(), name, buf.data(), buf.size());
  if (n < 0) return errno;
  reply_data(call, buf.data(), static_cast<size_t>(n));
  return 0;
}

int FsState::op_listxattr(const Call& call) {
  const auto* in = call.args<fuse_getxattr_in>();
  if (in == nullptr) return EINVAL;
  Inode* inode = node(call.in->nodeid);
  std::vector<char> buf(std::min<size_t>(in->size, XATTR_LIST_MAX));
  ssize_t n = 0;
  if (inode->type != S_IFLNK) {
    UniqueFd fd;
    int r = open_node(inode, O_PATH, fd);
    if (r < 0) return -r;
    n = ::listxattr(proc_fd_path(fd.get()).c_str(), in->size ? buf.data() : nullptr, buf.size());
    if (n < 0) return errno;
  }
  if (in->size == 0) {
    fuse_getxattr_out out{};
    out.size = static_cast<uint32_t>(n);
    reply(call, out);
    return 0;
  }
  reply_data(call, buf.data(), static_cast<size_t>(n));
  return 0;
}

int FsState::op_removexattr(const Call& call) {
  if (strnlen(call.arg, call.arglen) == call.arglen) return EINVAL;
  Inode* inode = node(call.in->nodeid);
  if (inode->type == S_IFLNK) return EPERM;
  UniqueFd fd;
  int r = open_node(inode, O_PATH, fd);
  if (r < 0) return -r;
  if (::removexattr(proc_fd_path(fd.get()).c_str(), call.arg) != 0) return errno;
  reply_data(call, nullptr, 0);
  return 0;
}

// With default_permissions (our default) the kernel checks access itself
// and never sends ACCESS. Without it, the lower filesystem answers for the
// caller (AT_EACCESS: the thread's fsuid, groups and capabilities, which
// are the caller's).
int FsState::op_access(const Call& call) {
  const auto* in = call.args<fuse_access_in>();
  if (in == nullptr) return EINVAL;
  Inode* inode = node(call.in->nodeid);
  UniqueFd holder;
  int fd = inode == inodes_->root() ? roots_[0].get() : open_node(inode, O_PATH, holder);
  if (fd < 0) return -fd;
  if (::faccessat(fd, "", static_cast<int>(in->mask & 7), AT_EACCESS | AT_EMPTY_PATH) != 0) {
    return errno;
  }
  reply_data(call, nullptr, 0);
  return 0;
}

}  // namespace fspol::runtime
