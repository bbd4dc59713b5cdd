#pragma once
// The FUSE channel: mounting, the INIT handshake, the worker threads that
// read /dev/fuse, replies and notifications.
//
// libfuse3 does what it does well here: parsing mount options, mount(2) or
// fusermount3 for unprivileged users, and unmounting. Everything that
// travels over the device is ours, because libfuse 3.14 cannot negotiate
// kernel passthrough (protocol 7.40) and rejects the opcodes and ioctls
// fuse-bpf mode needs.
//
// Threads: every worker owns a clone of the device fd (FUSE_DEV_IOC_CLONE)
// and a buffer of max_write plus a page; a request is answered on the fd it
// came from. Replies go out with one writev(2).

#include <linux/fuse.h>
#include <pthread.h>
#include <sys/uio.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "fspol/result.h"
#include "fspol/runtime/options.h"

struct fuse_session;
struct fuse_bpf_assign;

namespace fspol::runtime {

class FsState;
class Ring;
struct RingSlot;

// What INIT settled.
struct ConnInfo {
  uint32_t kernel_minor = 0;
  uint32_t minor = 0;
  uint64_t kernel_flags = 0;
  uint64_t flags = 0;
  bool passthrough = false;  // the kernel accepted FUSE_PASSTHROUGH
  bool writeback = false;
  bool killpriv = false;  // FUSE_HANDLE_KILLPRIV_V2: we clear set-ID bits
  bool uring = false;  // FUSE over io_uring negotiated
  std::string uring_note;  // why not, when it is not
  uint32_t max_write = 0;
  uint32_t max_pages = 0;
  std::string passthrough_note;  // why passthrough is off, when it is
};

// One request, as handed to a handler. Valid until the handler returns.
struct Call {
  int fd = -1;  // device fd to answer on
  RingSlot* slot = nullptr;  // set when the request came through io_uring: the reply goes there
  const fuse_in_header* in = nullptr;
  const char* arg = nullptr;
  size_t arglen = 0;

  // The fixed-size argument of type T, or nullptr when the request is short.
  template <typename T>
  const T* args() const {
    return arglen >= sizeof(T) ? reinterpret_cast<const T*>(arg) : nullptr;
  }
  // Bytes after the fixed-size argument of type T (names, data).
  template <typename T>
  const char* tail() const {
    return arg + sizeof(T);
  }
  template <typename T>
  size_t tail_len() const {
    return arglen - sizeof(T);
  }
};

// Frames one request as read from /dev/fuse: `n` bytes at `buf`, answered
// on `fd`. Returns false for what must not be dispatched: less than a
// header (dropped: there is no one to answer), or a header whose length
// disagrees with the bytes read or that is INIT after the handshake
// (answered EIO).
bool frame_request(const char* buf, size_t n, int fd, Call& call);

// Replies. Each request is answered exactly once (FORGET: never).
void reply_error(const Call& call, int error);
void reply_data(const Call& call, const void* data, size_t size);
// iov[0] is reserved for the header and filled in here.
void reply_iov(const Call& call, iovec* iov, int count);
template <typename T>
void reply(const Call& call, const T& out) {
  reply_data(call, &out, sizeof out);
}

class Session {
 public:
  Session(FsState& fs, const MountOptions& options);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Mounts the view (libfuse: fuse_session_new + fuse_session_mount).
  Result<void> mount();
  // fuse-bpf mode: mounts the view with mount(2) itself (libfuse does not
  // know the options), backed by the lower directory `lower_fd` and run by
  // the program set `root_set` (none when empty: plain fuse-bpf
  // passthrough). `no_daemon`: without a /dev/fuse connection (the plan
  // sends the daemon nothing); then wait_unmounted() instead of
  // handshake() and serve().
  Result<void> mount_backed(int lower_fd, const std::string& root_set, bool no_daemon);
  // A no_daemon mount: returns when the view is unmounted (by anyone) or
  // stop() is called.
  void wait_unmounted();
  // Reads INIT and answers it; after this conn() is settled.
  Result<void> handshake();
  // Runs workers until the file system is unmounted or stop() is called;
  // returns then. Starts one worker and adds one whenever every worker is
  // busy, up to `max_threads`.
  void serve(unsigned max_threads);
  // Workers currently running (/dev/fuse readers), and io_uring queue
  // threads.
  unsigned workers() const { return running_.load(); }
  unsigned ring_threads() const;
  // Unmounts (if still mounted) and makes serve() return.
  void stop();

  const ConnInfo& conn() const { return conn_; }
  int fd() const { return fd_; }
  // A device fd that stays open while serving, for ioctls (passthrough).
  int fd_for_ioctl() const { return ioctl_fd_; }

  // Kernel notifications: drop a cached name or cached attributes/data.
  // Return 0 or -errno (-ENOENT when the kernel had nothing cached).
  int notify_inval_entry(uint64_t parent, std::string_view name);
  // The same, sent later by a thread of its own: for a worker that must
  // not wait for a lock the kernel may hold until another request is
  // answered.
  void notify_inval_entry_later(uint64_t parent, std::string_view name);
  int notify_inval_inode(uint64_t node, int64_t offset, int64_t length);

  // fuse-bpf mode, a kernel with FUSE_BPF_FEATURE_ASSIGN: the inodes the
  // kernel holds for the view (fuse_bpf_node records, `count` of them),
  // and new program sets for some of them (returns how many it found;
  // once it returns, no operation uses a set it replaced).
  Result<std::vector<char>> bpf_nodes(uint32_t& count);
  Result<uint32_t> bpf_assign(std::vector<fuse_bpf_assign>& changes);

  // Interrupt bookkeeping for requests that may block (SETLKW).
  void begin_blocking(uint64_t unique);
  void end_blocking(uint64_t unique);
  void interrupt(uint64_t unique);

 private:
  void worker(int fd);
  int clone_fd();              // threads_mu_ held
  void spawn_worker_locked();  // threads_mu_ held
  void handle_init(const Call& call);

  FsState& fs_;
  const MountOptions& options_;
  fuse_session* se_ = nullptr;
  int fd_ = -1;
  int ioctl_fd_ = -1;
  bool mounted_ = false;
  bool own_mount_ = false;  // mount_backed: unmounted with umount2, not libfuse
  ConnInfo conn_;
  size_t bufsize_ = 0;
  std::atomic<bool> stopping_{false};
  mutable std::mutex threads_mu_;
  std::condition_variable threads_cv_;
  std::vector<std::thread> pool_;     // threads_mu_
  std::vector<pthread_t> workers_;    // threads_mu_
  std::atomic<unsigned> running_{0};  // written under threads_mu_
  std::atomic<unsigned> idle_{0};
  unsigned max_workers_ = 1;
  std::vector<int> clone_fds_;
  std::unique_ptr<Ring> ring_;
  std::mutex blocking_mu_;
  std::unordered_map<uint64_t, pthread_t> blocking_;
  // notify_inval_entry_later's queue and thread (started on first use).
  std::mutex later_mu_;
  std::condition_variable later_cv_;
  std::vector<std::pair<uint64_t, std::string>> later_;
  std::thread later_thread_;
  bool later_stop_ = false;
};

}  // namespace fspol::runtime
