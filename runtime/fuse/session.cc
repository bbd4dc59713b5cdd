#include "fuse/session.h"

#define FUSE_USE_VERSION FUSE_MAKE_VERSION(3, 12)
#include <fcntl.h>
#include <fuse3/fuse_lowlevel.h>
#include <linux/capability.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "fuse/credentials.h"
#include "fuse/fs.h"
#include "fuse/kernel_order.h"
#include "fuse/proto.h"
#include "fuse/ring.h"
#include "fuse_bpf_abi.h"
#include "log.h"

namespace fspol::runtime {
namespace {

// Wakes a worker out of read(2) or a blocking lock: installed without
// SA_RESTART so the call returns EINTR.
void wake_handler(int) {}

void install_wake_handler() {
  struct sigaction sa{};
  sa.sa_handler = wake_handler;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;
  sigaction(SIGUSR1, &sa, nullptr);
}

void write_reply(const Call& call, iovec* iov, int count) {
  reply_leaves();
  if (call.slot != nullptr) {
    ring_store_reply(*call.slot, iov, count);
    return;
  }
  int fd = call.fd;
  size_t total = 0;
  for (int i = 0; i < count; ++i) total += iov[i].iov_len;
  auto* out = static_cast<fuse_out_header*>(iov[0].iov_base);
  out->len = static_cast<uint32_t>(total);
  ssize_t n = ::writev(fd, iov, count);
  // ENOENT: the request was interrupted and is gone; nothing to do.
  if (n < 0 && errno != ENOENT) {
    log_debug("reply to request %llu failed: %s", static_cast<unsigned long long>(out->unique),
              std::strerror(errno));
  }
}

}  // namespace

void reply_iov(const Call& call, iovec* iov, int count) {
  fuse_out_header out{};
  out.unique = call.in->unique;
  out.error = 0;
  iov[0].iov_base = &out;
  iov[0].iov_len = sizeof out;
  write_reply(call, iov, count);
}

void reply_data(const Call& call, const void* data, size_t size) {
  iovec iov[2];
  iov[1].iov_base = const_cast<void*>(data);
  iov[1].iov_len = size;
  reply_iov(call, iov, size ? 2 : 1);
}

void reply_error(const Call& call, int error) {
  fuse_out_header out{};
  out.unique = call.in->unique;
  out.error = -error;
  iovec iov[1] = {{&out, sizeof out}};
  write_reply(call, iov, 1);
}

bool frame_request(const char* buf, size_t n, int fd, Call& call) {
  if (n < sizeof(fuse_in_header)) return false;
  request_arrives();
  call.fd = fd;
  call.in = reinterpret_cast<const fuse_in_header*>(buf);
  call.arg = buf + sizeof(fuse_in_header);
  call.arglen = n - sizeof(fuse_in_header);
  if (call.in->len != n || call.in->opcode == FUSE_INIT) {
    reply_error(call, EIO);
    return false;
  }
  return true;
}

Session::Session(FsState& fs, const MountOptions& options) : fs_(fs), options_(options) {}

Session::~Session() {
  {
    std::lock_guard lock(later_mu_);
    later_stop_ = true;
  }
  later_cv_.notify_all();
  if (later_thread_.joinable()) later_thread_.join();
  ring_.reset();
  for (int fd : clone_fds_) ::close(fd);
  if (own_mount_) {
    if (mounted_) ::umount2(options_.mountpoint.c_str(), MNT_DETACH);
    if (fd_ >= 0) ::close(fd_);
  }
  if (se_ != nullptr) {
    if (mounted_) fuse_session_unmount(se_);
    fuse_session_destroy(se_);
  }
}

Result<void> Session::mount() {
  if (options_.uring == UringMode::kOn) {
    if (std::string why = ring_enable_in_kernel(); !why.empty()) {
      log_error("uring=on: %s", why.c_str());
    }
  }
  // libfuse opens /dev/fuse itself before trying mount(2) and fusermount3
  // (which opens it as the user too): say why in one line, not in
  // libfuse's words and ours.
  if (::access("/dev/fuse", R_OK | W_OK) != 0) {
    int err = errno;
    std::string why = std::string("/dev/fuse: ") + std::strerror(err);
    if (err == ENOENT) why += " (no FUSE module: modprobe fuse)";
    if (err == EACCES || err == EPERM) {
      why += " (uid " + std::to_string(::getuid()) +
             " must be able to read and write it; distributions usually make it 0666)";
    }
    return Error{err, "cannot mount on " + options_.mountpoint + ": " + why};
  }
  // fusermount3 (a user's mount) records the mount under the user's name.
  if (!daemon_has_capability(CAP_SYS_ADMIN) && ::getpwuid(::geteuid()) == nullptr) {
    return Error{EINVAL, "cannot mount on " + options_.mountpoint + ": uid " +
                             std::to_string(::geteuid()) +
                             " has no user name, and fusermount3 needs one (/etc/passwd)"};
  }
  std::string opts = "subtype=fspol";
  opts += ",fsname=" + (options_.fsname.empty() ? options_.lower : options_.fsname);
  if (options_.default_permissions) opts += ",default_permissions";
  if (options_.allow_other) opts += ",allow_other";
  for (const std::string& o : options_.kernel_options) opts += "," + o;
  // libfuse splits -o lists on commas; escape the ones in values.
  std::vector<std::string> argv_s = {"fsrun", "-o", opts};
  std::vector<char*> argv;
  for (std::string& s : argv_s) argv.push_back(s.data());
  fuse_args args = FUSE_ARGS_INIT(static_cast<int>(argv.size()), argv.data());
  fuse_lowlevel_ops ops{};
  se_ = fuse_session_new(&args, &ops, sizeof ops, nullptr);
  fuse_opt_free_args(&args);
  if (se_ == nullptr) return Error{EINVAL, "cannot set up the FUSE session (options: " + opts + ")"};
  if (fuse_session_mount(se_, options_.mountpoint.c_str()) != 0) {
    return Error{EIO, "cannot mount on " + options_.mountpoint};
  }
  mounted_ = true;
  fd_ = fuse_session_fd(se_);
  return {};
}

namespace {

// mount(8)'s words for the mount flags (the rest of -o went elsewhere).
struct MountFlag {
  const char* word;
  unsigned long set;
  unsigned long clear;
};
constexpr MountFlag kMountFlags[] = {
    {"ro", MS_RDONLY, 0},         {"rw", 0, MS_RDONLY},
    {"nosuid", MS_NOSUID, 0},     {"suid", 0, MS_NOSUID},
    {"nodev", MS_NODEV, 0},       {"dev", 0, MS_NODEV},
    {"noexec", MS_NOEXEC, 0},     {"exec", 0, MS_NOEXEC},
    {"sync", MS_SYNCHRONOUS, 0},  {"async", 0, MS_SYNCHRONOUS},
    {"dirsync", MS_DIRSYNC, 0},   {"noatime", MS_NOATIME, 0},
    {"atime", 0, MS_NOATIME},     {"nodiratime", MS_NODIRATIME, 0},
    {"relatime", MS_RELATIME, 0}, {"strictatime", MS_STRICTATIME, 0},
    {"lazytime", MS_LAZYTIME, 0}, {"nolazytime", 0, MS_LAZYTIME},
};

}  // namespace

Result<void> Session::mount_backed(int lower_fd, const std::string& root_set, bool no_daemon) {
  int fd = no_daemon ? -1 : ::open("/dev/fuse", O_RDWR | O_CLOEXEC);
  if (fd < 0 && !no_daemon) {
    return Error{errno, std::string("cannot open /dev/fuse: ") + std::strerror(errno)};
  }
  // As libfuse mounts as root: nosuid and nodev unless asked otherwise.
  unsigned long flags = MS_NOSUID | MS_NODEV;
  for (const std::string& o : options_.kernel_options) {
    for (const MountFlag& f : kMountFlags) {
      if (o == f.word) flags = (flags | f.set) & ~f.clear;
    }
  }
  std::string data = (no_daemon ? std::string("no_daemon") : "fd=" + std::to_string(fd)) +
                     ",rootmode=40000,user_id=" + std::to_string(::getuid()) +
                     ",group_id=" + std::to_string(::getgid()) +
                     ",root_dir=" + std::to_string(lower_fd);
  if (!root_set.empty()) data += ",root_bpf=" + root_set;
  if (options_.default_permissions) data += ",default_permissions";
  if (options_.allow_other) data += ",allow_other";
  std::string source = options_.fsname.empty() ? options_.lower : options_.fsname;
  if (::mount(source.c_str(), options_.mountpoint.c_str(), "fuse.fspol", flags, data.c_str()) !=
      0) {
    int err = errno;
    if (fd >= 0) ::close(fd);
    return Error{err, "cannot mount on " + options_.mountpoint + " with fuse-bpf (" + data +
                          "): " + std::strerror(err)};
  }
  fd_ = fd;
  mounted_ = true;
  own_mount_ = true;
  return {};
}

void Session::wait_unmounted() {
  struct stat at {};
  if (::stat(options_.mountpoint.c_str(), &at) != 0) return;
  // The mount table's file polls POLLPRI at every change of it; the
  // timeout covers a missed one and stop().
  int table = ::open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
  while (!stopping_.load()) {
    pollfd p{table, POLLPRI, 0};
    ::poll(&p, table >= 0 ? 1 : 0, 200);
    struct stat now {};
    if (::stat(options_.mountpoint.c_str(), &now) != 0 || now.st_dev != at.st_dev) break;
  }
  if (table >= 0) ::close(table);
}

Result<void> Session::handshake() {
  std::vector<char> buf(FUSE_MIN_READ_BUFFER + 4096);
  for (;;) {
    ssize_t n = ::read(fd_, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == ENOENT) continue;
      return Error{errno, std::string("reading INIT from /dev/fuse: ") + std::strerror(errno)};
    }
    if (static_cast<size_t>(n) < sizeof(fuse_in_header)) return Error{EIO, "short INIT request"};
    Call call;
    call.fd = fd_;
    call.in = reinterpret_cast<const fuse_in_header*>(buf.data());
    call.arg = buf.data() + sizeof(fuse_in_header);
    call.arglen = static_cast<size_t>(n) - sizeof(fuse_in_header);
    if (call.in->opcode != FUSE_INIT) {
      reply_error(call, EIO);
      continue;
    }
    handle_init(call);
    if (conn_.minor == 0) return Error{EPROTO, "the kernel speaks an unsupported FUSE protocol"};
    return {};
  }
}

void Session::handle_init(const Call& call) {
  const auto* in = call.args<fuse_init_in>();
  // Kernels before 7.36 send the 16-byte form without flags2.
  if (call.arglen < 16) {
    reply_error(call, EPROTO);
    return;
  }
  uint32_t major = reinterpret_cast<const uint32_t*>(call.arg)[0];
  uint32_t minor = reinterpret_cast<const uint32_t*>(call.arg)[1];
  uint32_t max_readahead = reinterpret_cast<const uint32_t*>(call.arg)[2];
  uint64_t kflags = reinterpret_cast<const uint32_t*>(call.arg)[3];
  if (in != nullptr && (kflags & FUSE_INIT_EXT)) kflags |= static_cast<uint64_t>(in->flags2) << 32;
  proto::InitOut out{};
  out.major = FUSE_KERNEL_VERSION;
  out.minor = std::min(minor, proto::kMinor);
  if (major != FUSE_KERNEL_VERSION) {
    // A newer major: answer ours and wait for the kernel to retry.
    reply(call, out);
    return;
  }
  if (minor < 31) {
    reply_error(call, EPROTO);
    return;
  }
  conn_.kernel_minor = minor;
  conn_.kernel_flags = kflags;

  uint64_t want = FUSE_ASYNC_READ | FUSE_ATOMIC_O_TRUNC | FUSE_BIG_WRITES | FUSE_DO_READDIRPLUS |
                  FUSE_READDIRPLUS_AUTO | FUSE_PARALLEL_DIROPS | FUSE_MAX_PAGES |
                  FUSE_FLOCK_LOCKS | FUSE_ASYNC_DIO | FUSE_CACHE_SYMLINKS | FUSE_INIT_EXT |
                  FUSE_HANDLE_KILLPRIV_V2;
  // FUSE_HANDLE_KILLPRIV_V2: we clear set-ID bits ourselves (ops_file.cc),
  // and in exchange the kernel marks inodes without them S_NOSEC and stops
  // asking GETXATTR security.capability before every write (one round
  // trip per 4 KiB write with passthrough otherwise).
  // Not FUSE_EXPORT_SUPPORT: file handles would let the kernel name nodes
  // it has forgotten (our node ids are addresses), and NFS export of a view
  // is not a goal.
  // Kept symlink targets answer later readlinks without asking: not
  // when a rule may refuse reading a link to some callers only.
  if (!fs_.answers_same_for_every_caller()) want &= ~static_cast<uint64_t>(FUSE_CACHE_SYMLINKS);
  // fuse-bpf mode: the kernel opens backed files itself, so the daemon has
  // no descriptor to lock; the kernel keeps flock locks (as it keeps fcntl
  // locks), shared by the view's users, not with the lower side's.
  if (fs_.serves_filters()) want &= ~static_cast<uint64_t>(FUSE_FLOCK_LOCKS);
  if (options_.cache == CacheMode::kAuto) want |= FUSE_AUTO_INVAL_DATA;
  bool passthrough = false;
  if (options_.passthrough && options_.cache != CacheMode::kNever) {
    if (minor < proto::kMinorPassthrough || !(kflags & proto::kInitPassthrough)) {
      conn_.passthrough_note = "kernel FUSE " + std::to_string(minor) +
                               " without passthrough (needs Linux >= 6.9, "
                               "CONFIG_FUSE_PASSTHROUGH): file data goes through the daemon";
    } else if (::geteuid() != 0) {
      conn_.passthrough_note =
          "passthrough needs CAP_SYS_ADMIN (FUSE_DEV_IOC_BACKING_OPEN): file data goes "
          "through the daemon";
    } else {
      passthrough = true;
      want |= proto::kInitPassthrough;
    }
  } else if (!options_.passthrough) {
    conn_.passthrough_note = "passthrough off by option";
  } else {
    conn_.passthrough_note = "passthrough off: cache=never";
  }
  if (options_.uring == UringMode::kOff) {
    conn_.uring_note = "off by option";
  } else if (!(kflags & proto::kInitOverIoUring)) {
    conn_.uring_note =
        "the kernel does not offer it (needs CONFIG_FUSE_IO_URING and the fuse module "
        "parameter enable_uring=1)";
  } else if (std::string why = ring_unavailable_reason(); !why.empty()) {
    conn_.uring_note = why;
  } else {
    want |= proto::kInitOverIoUring;
  }
  // The kernel refuses passthrough together with writeback caching.
  if (options_.writeback && !passthrough && options_.cache != CacheMode::kNever) {
    want |= FUSE_WRITEBACK_CACHE;
  }
  uint64_t flags = want & kflags;
  out.flags = static_cast<uint32_t>(flags);
  out.flags2 = static_cast<uint32_t>(flags >> 32);
  out.max_readahead = max_readahead;
  out.max_write = options_.max_write;
  out.max_pages = static_cast<uint16_t>(std::max<uint32_t>(1, options_.max_write / 4096));
  out.max_background = 64;
  out.congestion_threshold = 48;
  out.time_gran = 1;
  if (flags & proto::kInitPassthrough) out.max_stack_depth = 1;
  conn_.minor = out.minor;
  conn_.flags = flags;
  conn_.passthrough = (flags & proto::kInitPassthrough) != 0;
  conn_.writeback = (flags & FUSE_WRITEBACK_CACHE) != 0;
  conn_.uring = (flags & proto::kInitOverIoUring) != 0;
  conn_.killpriv = (flags & FUSE_HANDLE_KILLPRIV_V2) != 0;
  conn_.max_write = out.max_write;
  conn_.max_pages = out.max_pages;
  bufsize_ = std::max<size_t>(FUSE_MIN_READ_BUFFER, out.max_write + 4096);
  // Sizes before 7.23 differ; we refuse those kernels above (minor >= 31).
  reply(call, out);
}

int Session::clone_fd() {
  int fd = ::open("/dev/fuse", O_RDWR | O_CLOEXEC);
  uint32_t master = static_cast<uint32_t>(fd_);
  if (fd < 0 || ::ioctl(fd, proto::kIocClone, &master) != 0) {
    // No cloning (old kernel): the worker reads the main fd.
    if (fd >= 0) ::close(fd);
    return fd_;
  }
  clone_fds_.push_back(fd);
  return fd;
}

void Session::spawn_worker_locked() {
  // Each worker owns a clone of the device fd: its own queue of requests
  // being processed, answered on the same fd.
  int fd = clone_fd();
  if (ioctl_fd_ < 0) ioctl_fd_ = fd;
  running_++;
  pool_.emplace_back([this, fd] { worker(fd); });
  workers_.push_back(pool_.back().native_handle());
}

void Session::serve(unsigned max_threads) {
  install_wake_handler();
  max_workers_ = std::max(1U, max_threads);
  std::unique_lock lock(threads_mu_);
  spawn_worker_locked();
  if (conn_.uring) {
    // Once INIT asked for the ring, the kernel holds every request until
    // each queue has an entry registered.
    size_t payload = std::max<size_t>({FUSE_MIN_READ_BUFFER, conn_.max_write,
                                       size_t{conn_.max_pages} * 4096});
    ring_ = std::make_unique<Ring>(fs_, fd_, payload, ring_queue_count());
    if (std::string error = ring_->start(1); !error.empty()) {
      conn_.uring = false;
      conn_.uring_note = "queue setup failed: " + error;
      if (Ring::force_fallback(fd_)) {
        log_error("FUSE over io_uring: %s; serving through /dev/fuse", error.c_str());
      } else {
        // Every request would wait for the ring for ever: give up the mount.
        log_error("FUSE over io_uring: %s; unmounting (mount with -o uring=off)", error.c_str());
        lock.unlock();
        stop();
        lock.lock();
      }
    }
  }
  // Workers are added on demand (see worker()); wait for all to leave.
  threads_cv_.wait(lock, [this] { return running_ == 0; });
  std::vector<std::thread> pool = std::move(pool_);
  // Every worker has left its loop: stop() (called again after serve
  // returns) must not signal threads about to be joined, whose handles
  // are gone once they are (a crash at exit).
  workers_.clear();
  lock.unlock();
  for (std::thread& t : pool) t.join();
  if (ring_) {
    ring_->stop();
    ring_->join();
  }
}

unsigned Session::ring_threads() const {
  std::lock_guard lock(threads_mu_);  // serve() sets ring_ while status may ask
  return ring_ ? ring_->threads() : 0;
}

void Session::worker(int fd) {
  std::vector<char> buf(bufsize_);
  while (!stopping_.load(std::memory_order_relaxed)) {
    idle_.fetch_add(1, std::memory_order_relaxed);
    ssize_t n = ::read(fd, buf.data(), buf.size());
    // The last idle worker took a request: start another (up to the
    // limit), so a serial caller is served by one warm thread and
    // concurrent callers get as many as they keep busy (libfuse's rule).
    if (idle_.fetch_sub(1, std::memory_order_relaxed) == 1 && n > 0 &&
        running_.load(std::memory_order_relaxed) < max_workers_) {
      std::lock_guard lock(threads_mu_);
      if (!stopping_.load() && running_ < max_workers_) spawn_worker_locked();
    }
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == ENOENT) continue;
      if (errno != ENODEV) log_error("reading /dev/fuse: %s", std::strerror(errno));
      break;  // ENODEV: unmounted
    }
    Call call;
    if (!frame_request(buf.data(), static_cast<size_t>(n), fd, call)) continue;
    fs_.dispatch(call);
    if (call.in->opcode == FUSE_DESTROY) break;
  }
  // One worker leaving means the file system is gone: wake the others.
  std::lock_guard lock(threads_mu_);
  if (!stopping_.exchange(true)) {
    for (pthread_t t : workers_) {
      if (!pthread_equal(t, pthread_self())) pthread_kill(t, SIGUSR1);
    }
  }
  running_--;
  threads_cv_.notify_all();
}

void Session::stop() {
  if (mounted_ && own_mount_) {
    mounted_ = false;
    ::umount2(options_.mountpoint.c_str(), MNT_DETACH);
  } else if (mounted_ && se_ != nullptr) {
    mounted_ = false;
    fuse_session_unmount(se_);
    fd_ = -1;
  }
  stopping_.store(true);
  std::lock_guard lock(threads_mu_);
  for (pthread_t t : workers_) pthread_kill(t, SIGUSR1);
  if (ring_) ring_->stop();
}

int Session::notify_inval_entry(uint64_t parent, std::string_view name) {
  fuse_out_header out{};
  out.error = FUSE_NOTIFY_INVAL_ENTRY;
  fuse_notify_inval_entry_out arg{};
  arg.parent = parent;
  arg.namelen = static_cast<uint32_t>(name.size());
  char nul = 0;
  iovec iov[4] = {{&out, sizeof out},
                  {&arg, sizeof arg},
                  {const_cast<char*>(name.data()), name.size()},
                  {&nul, 1}};
  out.len = static_cast<uint32_t>(sizeof out + sizeof arg + name.size() + 1);
  int fd = ioctl_fd_;
  return ::writev(fd, iov, 4) < 0 ? -errno : 0;
}

void Session::notify_inval_entry_later(uint64_t parent, std::string_view name) {
  std::lock_guard lock(later_mu_);
  if (later_stop_) return;
  later_.emplace_back(parent, std::string(name));
  if (!later_thread_.joinable()) {
    later_thread_ = std::thread([this] {
      std::unique_lock lock(later_mu_);
      for (;;) {
        later_cv_.wait(lock, [this] { return later_stop_ || !later_.empty(); });
        if (later_stop_) return;
        auto batch = std::move(later_);
        later_.clear();
        lock.unlock();
        for (const auto& [dir, entry] : batch) notify_inval_entry(dir, entry);
        lock.lock();
      }
    });
  }
  later_cv_.notify_one();
}

int Session::notify_inval_inode(uint64_t node, int64_t offset, int64_t length) {
  fuse_out_header out{};
  out.error = FUSE_NOTIFY_INVAL_INODE;
  fuse_notify_inval_inode_out arg{};
  arg.ino = node;
  arg.off = offset;
  arg.len = length;
  iovec iov[2] = {{&out, sizeof out}, {&arg, sizeof arg}};
  out.len = sizeof out + sizeof arg;
  int fd = ioctl_fd_;
  return ::writev(fd, iov, 2) < 0 ? -errno : 0;
}

Result<std::vector<char>> Session::bpf_nodes(uint32_t& count) {
  std::vector<char> buf(64 * 1024);
  for (;;) {
    fuse_bpf_nodes arg{};
    arg.buf = reinterpret_cast<uintptr_t>(buf.data());
    arg.size = static_cast<uint32_t>(buf.size());
    if (::ioctl(ioctl_fd_, FUSE_DEV_IOC_BPF_NODES, &arg) == 0) {
      count = arg.count;
      return buf;
    }
    // New nodes may come between two calls: room for some more.
    if (errno != ENOSPC || arg.needed > (uint64_t{1} << 30)) {
      return Error{errno, std::string("listing the kernel's nodes: ") + std::strerror(errno)};
    }
    buf.assign(arg.needed + arg.needed / 4 + 4096, 0);
  }
}

Result<uint32_t> Session::bpf_assign(std::vector<fuse_bpf_assign>& changes) {
  fuse_bpf_assigns arg{};
  arg.buf = reinterpret_cast<uintptr_t>(changes.data());
  arg.count = static_cast<uint32_t>(changes.size());
  if (::ioctl(ioctl_fd_, FUSE_DEV_IOC_BPF_ASSIGN, &arg) != 0) {
    return Error{errno, std::string("assigning program sets: ") + std::strerror(errno)};
  }
  return arg.done;
}

void Session::begin_blocking(uint64_t unique) {
  std::lock_guard lock(blocking_mu_);
  blocking_[unique] = pthread_self();
}

void Session::end_blocking(uint64_t unique) {
  std::lock_guard lock(blocking_mu_);
  blocking_.erase(unique);
}

void Session::interrupt(uint64_t unique) {
  std::lock_guard lock(blocking_mu_);
  auto it = blocking_.find(unique);
  if (it != blocking_.end()) pthread_kill(it->second, SIGUSR1);
}

}  // namespace fspol::runtime
