// Regular files: open/create/read/write/flush/release/fsync, fallocate,
// lseek, copy_file_range, flock, and kernel passthrough.
//
// Passthrough: the first open of an inode registers its lower fd with the
// kernel (FUSE_DEV_IOC_BACKING_OPEN) and every open of the inode while one
// is open answers with the same backing id (the kernel refuses two backing
// files for one inode); the last release unregisters it. With passthrough
// the kernel reopens the backing file with the caller's open flags and
// serves read, write, splice and mmap itself: no READ or WRITE reaches us.
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>
#include <vector>

#include "fuse/credentials.h"
#include "fuse/fs.h"
#include "fuse/proto.h"
#include "fuse/ring.h"
#include "log.h"

namespace fspol::runtime {
namespace {

FileHandle* handle_of(uint64_t fh) { return reinterpret_cast<FileHandle*>(static_cast<uintptr_t>(fh)); }

// A file whose set-ID bits an unprivileged write may take away.
bool has_sxid(mode_t mode) { return S_ISREG(mode) && (mode & (S_ISUID | S_ISGID)); }

// The kernel's __FMODE_EXEC, sent in OPEN's flags by execve(2).
constexpr uint32_t kExecOpen = 040;

bool opens_for_write(uint32_t flags) {
  return (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
}

}  // namespace

// FUSE_HANDLE_KILLPRIV_V2 puts clearing set-ID bits after an unprivileged
// write, truncate or O_TRUNC open on us (the kernel asks with a flag).
// Mostly the lower file system has done it already, the write having run
// with the caller's capabilities; not when the data went another way
// (writeback flushes, which run as the kernel). The rule is the kernel's:
// set-user-ID always, set-group-ID when group-executable or when the
// caller is not in the file's group. The daemon clears them on the
// kernel's behalf, with its own rights (the caller need not own the
// file). security.capability needs nothing: the lower file system drops
// it on every write, truncate and chown, privileged or not.
void kill_suidgid(int fd, const fuse_in_header& caller) {
  struct stat st{};
  if (::fstat(fd, &st) != 0 || !has_sxid(st.st_mode)) return;
  mode_t mode = st.st_mode & 07777 & ~mode_t{S_ISUID};
  if ((mode & S_ISGID) && ((mode & S_IXGRP) || !caller_in_group(caller, st.st_gid))) {
    mode &= ~mode_t{S_ISGID};
  }
  if (mode == (st.st_mode & 07777)) return;
  PrivilegedScope daemon;
  if (::fchmod(fd, mode) != 0) log_debug("clearing set-ID bits: %s", std::strerror(errno));
}

namespace {

// Open flags for the lower file: the caller's, never following a final
// symlink, and without O_DIRECT (our buffers are not aligned; the kernel
// still honours the caller's O_DIRECT on the FUSE side). Only flags that
// mean something for a lower regular file pass: the kernel also sends
// internal ones (__FMODE_EXEC for execve, FASYNC), which openat2 refuses
// with EINVAL where open(2) would ignore them.
int lower_open_flags(uint32_t flags, bool writeback) {
  constexpr uint32_t kPassed =
      O_ACCMODE | O_APPEND | O_TRUNC | O_NONBLOCK | O_SYNC | O_DSYNC | O_NOATIME | O_LARGEFILE;
  int f = static_cast<int>(flags & kPassed);
  if (writeback) {
    // The kernel reads pages of write-only files to fill its cache, and
    // does O_APPEND positioning itself.
    if ((f & O_ACCMODE) == O_WRONLY) f = (f & ~O_ACCMODE) | O_RDWR;
    f &= ~O_APPEND;
  }
  return f | O_NOFOLLOW | O_CLOEXEC;
}

}  // namespace

uint32_t FsState::open_flags_for() {
  // No FLUSH round trip on close: we keep nothing to flush, and POSIX locks
  // are the kernel's (FUSE_POSIX_LOCKS is not negotiated).
  uint32_t flags = proto::kOpenNoflush;
  switch (options_.cache) {
    case CacheMode::kAlways:
      flags |= proto::kOpenKeepCache;
      break;
    case CacheMode::kNever:
      flags |= proto::kOpenDirectIo;
      break;
    case CacheMode::kAuto:
      break;
  }
  return flags;
}

int FsState::attach_handle(FileHandle& fh, bool allow_passthrough) {
  std::lock_guard lock(InodeTable::open_lock(fh.inode));
  fh.next = fh.inode->handles;
  if (fh.next != nullptr) fh.next->prev = &fh;
  fh.inode->handles = &fh;
  if (session_ == nullptr || !session_->conn().passthrough || passthrough_failed_.load()) return 0;
  // Reuse the inode's backing file whenever it has one: the kernel keeps
  // an inode's opens all passthrough or all not.
  if (!allow_passthrough && fh.inode->open_count == 0) return 0;
  if (fh.inode->open_count == 0) {
    proto::BackingMap map{};
    map.fd = fh.fd.get();
    // CAP_SYS_ADMIN: the daemon's step. The kernel records these
    // credentials for its own reads and writes of the backing file, which
    // the caller's open has already been checked for.
    PrivilegedScope daemon;
    int id = ::ioctl(session_->fd_for_ioctl(), proto::kIocBackingOpen, &map);
    if (id <= 0) {
      if (!passthrough_failed_.exchange(true)) {
        log_warn("kernel passthrough unavailable (FUSE_DEV_IOC_BACKING_OPEN: %s): file data "
                 "goes through the daemon",
                 std::strerror(errno));
      }
      return 0;
    }
    fh.inode->backing_id = id;
  }
  fh.inode->open_count++;
  fh.passthrough = true;
  passthrough_opens_.fetch_add(1, std::memory_order_relaxed);
  return fh.inode->backing_id;
}

void FsState::detach_handle(FileHandle& fh) {
  std::lock_guard lock(InodeTable::open_lock(fh.inode));
  if (fh.prev != nullptr) {
    fh.prev->next = fh.next;
  } else {
    fh.inode->handles = fh.next;
  }
  if (fh.next != nullptr) fh.next->prev = fh.prev;
  if (!fh.passthrough) return;
  if (--fh.inode->open_count == 0) {
    uint32_t id = static_cast<uint32_t>(fh.inode->backing_id);
    PrivilegedScope daemon;  // CAP_SYS_ADMIN
    if (::ioctl(session_->fd_for_ioctl(), proto::kIocBackingClose, &id) != 0) {
      log_debug("FUSE_DEV_IOC_BACKING_CLOSE %u: %s", id, std::strerror(errno));
    }
    fh.inode->backing_id = 0;
  }
}

int FsState::handled(Inode* inode, const struct stat& st, int fd,
                     std::shared_ptr<const std::string>& out) {
  std::string path = view_path(inode);
  auto contents = handled_.get(inode->handler, path, st, [&]() -> Result<std::string> {
    if (S_ISLNK(st.st_mode)) {
      UniqueFd holder;
      std::string name;
      int dirfd = open_parent(inode, holder, name);
      if (dirfd < 0) return Error{-dirfd, "readlink"};
      char buf[PATH_MAX];
      ssize_t n = ::readlinkat(dirfd, name.c_str(), buf, sizeof buf);
      if (n < 0) return Error{errno, "readlink"};
      return std::string(buf, static_cast<size_t>(n));
    }
    UniqueFd own;
    if (fd < 0) {
      int r = open_node(inode, O_RDONLY | O_NOFOLLOW | O_CLOEXEC, own);
      if (r < 0) return Error{-r, "open"};
      fd = own.get();
    }
    return HandledContents::read_file(fd);
  });
  if (!contents) return contents.error().code;
  out = std::move(*contents);
  handled_count_.fetch_add(1, std::memory_order_relaxed);
  return 0;
}

int FsState::open_handle_fd(Inode* inode, UniqueFd& out) {
  std::lock_guard lock(InodeTable::open_lock(inode));
  if (inode->handles == nullptr) return -ENOENT;
  int fd = ::fcntl(inode->handles->fd.get(), F_DUPFD_CLOEXEC, 0);
  if (fd < 0) return -errno;
  out.reset(fd);
  return fd;
}

// execve(2) opens with an internal flag and needs execute permission,
// not read permission: the caller's X_OK decides (without
// default_permissions the kernel checks only that some x bit is set), and
// an execute-only file is then opened for the kernel by the daemon.
int FsState::open_for_exec(Inode* inode, UniqueFd& out) {
  UniqueFd path_fd;
  int r = open_node(inode, O_PATH, path_fd);
  if (r < 0) return r;
  if (::faccessat(path_fd.get(), "", X_OK, AT_EACCESS | AT_EMPTY_PATH) != 0) return -errno;
  std::string proc = proc_fd_path(path_fd.get());
  int fd = ::open(proc.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == EACCES) {
    PrivilegedScope daemon;
    fd = ::open(proc.c_str(), O_RDONLY | O_CLOEXEC);
  }
  if (fd < 0) return -errno;
  out.reset(fd);
  return fd;
}

namespace {

int reply_open(const Call& call, FileHandle* fh, uint32_t flags, int backing_id) {
  proto::OpenOut out{};
  out.fh = reinterpret_cast<uintptr_t>(fh);
  out.open_flags = flags;
  if (backing_id > 0) {
    out.open_flags |= proto::kOpenPassthrough;
    out.open_flags &= ~(proto::kOpenDirectIo | proto::kOpenKeepCache);
    out.backing_id = backing_id;
  }
  reply(call, out);
  return 0;
}

}  // namespace

int FsState::op_open(const Call& call) {
  const auto* in = call.args<fuse_open_in>();
  if (in == nullptr) return EINVAL;
  Inode* inode = node(call.in->nodeid);
  if (inode->type != S_IFREG) {
    // Devices, fifos and sockets are opened by the kernel on the FUSE side
    // and never reach OPEN; anything else here is a directory.
    return inode->type == S_IFDIR ? EISDIR : EINVAL;
  }
  auto fh = std::make_unique<FileHandle>();
  fh->inode = inode;
  int r = (in->flags & kExecOpen)
              ? open_for_exec(inode, fh->fd)
              : open_node(inode, lower_open_flags(in->flags, session_->conn().writeback), fh->fd);
  if (r < 0) return -r;
  if (int err = fd_room(r)) return err;  // kept for requests; fh closes it
  uint32_t flags = open_flags_for();
  if (inode->handler != 0) {
    // A handled node: its reads are the handler's output, as of this
    // open; writes reach the lower file directly (no page cache of the
    // node's handled contents can hold them).
    if ((in->flags & O_ACCMODE) != O_WRONLY) {
      struct stat st{};
      if (::fstat(fh->fd.get(), &st) != 0) return errno;
      if (int err = handled(inode, st, fh->fd.get(), fh->contents)) return err;
    }
    flags &= ~proto::kOpenKeepCache;
    if (opens_for_write(in->flags)) flags |= proto::kOpenDirectIo;
    attach_handle(*fh, false);
    open_files_.fetch_add(1, std::memory_order_relaxed);
    return reply_open(call, fh.release(), flags, 0);
  }
  bool passthrough_ok = true;
  if (opens_for_write(in->flags) && session_->conn().killpriv) {
    if ((in->flags & O_TRUNC) && (in->open_flags & FUSE_OPEN_KILL_SUIDGID)) kill_suidgid(fh->fd.get(), *call.in);
    // Writes through the kernel's passthrough never reach us, so a set-ID
    // file opened for writing is served uncached by the daemon, which
    // clears the bits when an unprivileged write asks.
    struct stat st{};
    if (::fstat(fh->fd.get(), &st) == 0 && has_sxid(st.st_mode)) {
      passthrough_ok = false;
      flags = (flags & ~proto::kOpenKeepCache) | proto::kOpenDirectIo;
    }
  }
  int backing = attach_handle(*fh, passthrough_ok);
  open_files_.fetch_add(1, std::memory_order_relaxed);
  return reply_open(call, fh.release(), flags, backing);
}

int FsState::op_create(const Call& call) {
  const auto* in = call.args<fuse_create_in>();
  if (in == nullptr) return EINVAL;
  const char* name = call.tail<fuse_create_in>();
  size_t len = call.tail_len<fuse_create_in>();
  size_t nlen = strnlen(name, len);
  if (nlen == 0 || nlen == len || std::strchr(name, '/') != nullptr) return EINVAL;
  Inode* parent = node(call.in->nodeid);
  {
    // Room for the new file's descriptor is checked before anything is
    // made: a create refused afterwards would leave the file behind.
    UniqueFd probe(::fcntl(roots_[0].get(), F_DUPFD_CLOEXEC, 0));
    if (!probe.valid()) return errno;
    if (int err = fd_room(probe.get())) return err;
  }
  Place place;
  if (int err = locate(parent, name, syntax::kTypeFile, call, place)) return err;
  int dirfd = place.dirfd;
  const std::string& lower = place.name;
  int flags = lower_open_flags(in->flags, session_->conn().writeback) | O_CREAT;
  if (in->flags & O_EXCL) flags |= O_EXCL;
  // With a policy, a name checked as new must still be new when opened;
  // one that appeared meanwhile is checked again as an existing file.
  bool recheck = !engine_->trivial() && !(in->flags & O_EXCL);
  int fd = open_beneath(dirfd, lower.c_str(),
                        static_cast<uint64_t>(flags | (recheck ? O_EXCL : 0)), in->mode & 07777);
  if (fd == -EEXIST && recheck) {
    if (int err = check_create(parent, name, in->flags, caller_of(call))) return err;
    fd = open_beneath(dirfd, lower.c_str(), static_cast<uint64_t>(flags), in->mode & 07777);
  }
  if (fd < 0) return -fd;
  if ((in->flags & O_TRUNC) && (in->open_flags & FUSE_OPEN_KILL_SUIDGID)) kill_suidgid(fd, *call.in);
  auto fh = std::make_unique<FileHandle>();
  fh->fd.reset(fd);
  struct stat st{};
  if (::fstat(fd, &st) != 0) return errno;
  const NodeState& state = place.state;
  Inode* inode =
      inodes_->learn(parent, place.link, st, state, handler_of(state, st, call), place.anchor);
  if (inode == nullptr) return EACCES;  // too many views of one object (fh closes the fd)
  fh->inode = inode;
  struct {
    fuse_entry_out entry;
    proto::OpenOut open;
  } out{};
  fill_entry(out.entry, inode, st, call);
  out.open.open_flags = open_flags_for();
  // A new file has no set-ID bits unless asked for (mode); then as open.
  bool passthrough_ok = !(session_->conn().killpriv && has_sxid(st.st_mode));
  if (!passthrough_ok) {
    out.open.open_flags = (out.open.open_flags & ~proto::kOpenKeepCache) | proto::kOpenDirectIo;
  }
  int backing = attach_handle(*fh, passthrough_ok);
  if (backing > 0) {
    out.open.open_flags |= proto::kOpenPassthrough;
    out.open.open_flags &= ~(proto::kOpenDirectIo | proto::kOpenKeepCache);
    out.open.backing_id = backing;
  }
  out.open.fh = reinterpret_cast<uintptr_t>(fh.release());
  open_files_.fetch_add(1, std::memory_order_relaxed);
  reply(call, out);
  return 0;
}

int FsState::op_read(const Call& call) {
  const auto* in = call.args<fuse_read_in>();
  if (in == nullptr) return EINVAL;
  FileHandle* fh = handle_of(in->fh);
  if (fh->contents != nullptr) {
    const std::string& c = *fh->contents;
    size_t at = std::min<uint64_t>(in->offset, c.size());
    reply_data(call, c.data() + at, std::min<size_t>(in->size, c.size() - at));
    return 0;
  }
  // The kernel asks at most max_pages pages (INIT); a larger size is not
  // worth an allocation.
  size_t size = std::min<size_t>(in->size, options_.max_write);
  thread_local std::vector<char> buf;
  if (buf.size() < size) buf.resize(size);
  ssize_t n = ::pread(fh->fd.get(), buf.data(), size, static_cast<off_t>(in->offset));
  if (n < 0) return errno;
  reply_data(call, buf.data(), static_cast<size_t>(n));
  return 0;
}

int FsState::op_write(const Call& call) {
  const auto* in = call.args<fuse_write_in>();
  if (in == nullptr) return EINVAL;
  if (call.tail_len<fuse_write_in>() < in->size) return EINVAL;
  int fd = handle_of(in->fh)->fd.get();
  ssize_t n = ::pwrite(fd, call.tail<fuse_write_in>(), in->size, static_cast<off_t>(in->offset));
  if (n < 0) return errno;
  if (in->write_flags & FUSE_WRITE_KILL_SUIDGID) kill_suidgid(fd, *call.in);
  fuse_write_out out{};
  out.size = static_cast<uint32_t>(n);
  reply(call, out);
  return 0;
}

int FsState::op_flush(const Call& call) {
  reply_data(call, nullptr, 0);
  return 0;
}

int FsState::op_release(const Call& call) {
  const auto* in = call.args<fuse_release_in>();
  if (in == nullptr) return EINVAL;
  FileHandle* fh = handle_of(in->fh);
  // Closing the lower fd drops its flock locks only when nothing else
  // holds its open file description: a passthrough backing file shared
  // with other opens of the inode may, and would keep the lock forever.
  if (in->release_flags & FUSE_RELEASE_FLOCK_UNLOCK) ::flock(fh->fd.get(), LOCK_UN);
  detach_handle(*fh);
  delete fh;
  open_files_.fetch_sub(1, std::memory_order_relaxed);
  reply_data(call, nullptr, 0);
  return 0;
}

int sync_and_reply(const Call& call, int fd, uint32_t fsync_flags) {
  int rc = (fsync_flags & FUSE_FSYNC_FDATASYNC) ? ::fdatasync(fd) : ::fsync(fd);
  if (rc != 0) return errno;
  reply_data(call, nullptr, 0);
  return 0;
}

int FsState::op_fsync(const Call& call) {
  const auto* in = call.args<fuse_fsync_in>();
  if (in == nullptr) return EINVAL;
  return sync_and_reply(call, handle_of(in->fh)->fd.get(), in->fsync_flags);
}

int FsState::op_fallocate(const Call& call) {
  const auto* in = call.args<fuse_fallocate_in>();
  if (in == nullptr) return EINVAL;
  int fd = handle_of(in->fh)->fd.get();
  if (::fallocate(fd, static_cast<int>(in->mode), static_cast<off_t>(in->offset),
                  static_cast<off_t>(in->length)) != 0) {
    return errno;
  }
  // No kill flag travels with these: a caller other than root stands for
  // one without CAP_FSETID.
  if (session_->conn().killpriv && call.in->uid != 0) kill_suidgid(fd, *call.in);
  reply_data(call, nullptr, 0);
  return 0;
}

int FsState::op_lseek(const Call& call) {
  const auto* in = call.args<fuse_lseek_in>();
  if (in == nullptr) return EINVAL;
  FileHandle* fh = handle_of(in->fh);
  off_t off;
  if (fh->contents != nullptr) {
    // Handled contents have no holes.
    uint64_t size = fh->contents->size();
    if (in->whence == SEEK_DATA || in->whence == SEEK_HOLE) {
      if (in->offset >= size) return ENXIO;
      off = static_cast<off_t>(in->whence == SEEK_DATA ? in->offset : size);
    } else if (in->whence == SEEK_END) {
      off = static_cast<off_t>(size + in->offset);
    } else {
      off = static_cast<off_t>(in->offset);
    }
  } else {
    off = ::lseek(fh->fd.get(), static_cast<off_t>(in->offset), static_cast<int>(in->whence));
    if (off < 0) return errno;
  }
  fuse_lseek_out out{};
  out.offset = static_cast<uint64_t>(off);
  reply(call, out);
  return 0;
}

int FsState::op_copy_file_range(const Call& call) {
  const auto* in = call.args<fuse_copy_file_range_in>();
  if (in == nullptr) return EINVAL;
  loff_t off_in = static_cast<loff_t>(in->off_in);
  loff_t off_out = static_cast<loff_t>(in->off_out);
  size_t len = std::min<uint64_t>(in->len, 1U << 30);
  // From handled contents the kernel copies through READ (its fallback
  // for EOPNOTSUPP), which serves them.
  if (handle_of(in->fh_in)->contents != nullptr) return EOPNOTSUPP;
  ssize_t n = ::copy_file_range(handle_of(in->fh_in)->fd.get(), &off_in,
                                handle_of(in->fh_out)->fd.get(), &off_out, len,
                                static_cast<unsigned>(in->flags));
  if (n < 0) return errno;
  if (session_->conn().killpriv && call.in->uid != 0) kill_suidgid(handle_of(in->fh_out)->fd.get(), *call.in);
  fuse_write_out out{};
  out.size = static_cast<uint32_t>(n);
  reply(call, out);
  return 0;
}

// flock(2) locks (FUSE_FLOCK_LOCKS): applied to our lower fd, which is
// private to the FUSE open, so the lock has flock's per-open-file meaning
// and is visible to users of the lower directory too. POSIX (fcntl) locks
// are left to the kernel (FUSE_POSIX_LOCKS not negotiated): correct among
// users of the mount, not shared with the lower side.
int FsState::lock_common(const Call& call, bool wait) {
  const auto* in = call.args<fuse_lk_in>();
  if (in == nullptr) return EINVAL;
  if (!(in->lk_flags & FUSE_LK_FLOCK)) return ENOSYS;
  int op = in->lk.type == F_RDLCK ? LOCK_SH : in->lk.type == F_WRLCK ? LOCK_EX : LOCK_UN;
  int fd = handle_of(in->fh)->fd.get();
  if (!wait || op == LOCK_UN) {
    if (::flock(fd, op | LOCK_NB) != 0) return errno;
    reply_data(call, nullptr, 0);
    return 0;
  }
  // A blocking lock may wait forever. A ring thread waits itself (its
  // reply must go out through its own entry) after giving its queue a
  // new thread; a /dev/fuse worker hands the wait to a thread of its own.
  // Either way the request that releases the lock can still be served.
  if (call.slot != nullptr) {
    Ring::add_spare_for_current_thread();
    session_->begin_blocking(call.in->unique);
    // The wait decides nothing: a reload may swap the policy meanwhile.
    pthread_rwlock_unlock(&policy_lock_);
    int rc = ::flock(fd, op);
    int err = rc == 0 ? 0 : errno;
    pthread_rwlock_rdlock(&policy_lock_);
    session_->end_blocking(call.in->unique);
    if (err != 0) return err;
    reply_data(call, nullptr, 0);
    return 0;
  }
  fuse_in_header header = *call.in;
  int reply_fd = call.fd;
  Session* session = session_;
  std::thread([header, reply_fd, fd, op, session] {
    Call c;
    c.fd = reply_fd;
    c.in = &header;
    session->begin_blocking(header.unique);
    int rc = ::flock(fd, op);
    int err = rc == 0 ? 0 : errno;
    session->end_blocking(header.unique);
    if (err != 0) {
      reply_error(c, err);
    } else {
      reply_data(c, nullptr, 0);
    }
  }).detach();
  return 0;
}

int FsState::op_getlk(const Call&) { return ENOSYS; }
int FsState::op_setlk(const Call& call) { return lock_common(call, false); }
int FsState::op_setlkw(const Call& call) { return lock_common(call, true); }

int FsState::op_interrupt(const Call& call) {
  const auto* in = call.args<fuse_interrupt_in>();
  if (in != nullptr && session_ != nullptr) session_->interrupt(in->unique);
  return 0;  // no reply: the interrupted request answers EINTR itself
}

int FsState::op_statfs(const Call& call) {
  struct statfs st{};
  if (::fstatfs(roots_[0].get(), &st) != 0) return errno;
  fuse_statfs_out out{};
  out.st.blocks = st.f_blocks;
  out.st.bfree = st.f_bfree;
  out.st.bavail = st.f_bavail;
  out.st.files = st.f_files;
  out.st.ffree = st.f_ffree;
  out.st.bsize = static_cast<uint32_t>(st.f_bsize);
  out.st.namelen = static_cast<uint32_t>(st.f_namelen);
  out.st.frsize = static_cast<uint32_t>(st.f_frsize);
  reply(call, out);
  return 0;
}

int FsState::op_syncfs(const Call& call) {
  // The roots are O_PATH fds, which syncfs(2) refuses (EBADF).
  UniqueFd root(::openat(roots_[0].get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (root.get() < 0 || ::syncfs(root.get()) != 0) return errno;
  reply_data(call, nullptr, 0);
  return 0;
}

int FsState::op_destroy(const Call& call) {
  reply_data(call, nullptr, 0);
  return 0;
}

}  // namespace fspol::runtime
