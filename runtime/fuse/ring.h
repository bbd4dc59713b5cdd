#pragma once
// FUSE over io_uring: one request queue per CPU, served by threads pinned
// to that CPU.
//
// Why: a request read from /dev/fuse wakes whichever worker has waited
// longest, often on the other CPU, and on these VMs the cross-CPU wake-up
// costs more than the rest of a cold stat (docs/benchmarks.md: pinning the
// caller and the daemon to one CPU made cold metadata rows 4-5x faster).
// The kernel puts a ring request on the queue of the CPU its caller runs
// on; with that queue's threads pinned there, caller, daemon and reply stay
// on one CPU, and one io_uring_enter(2) both answers a request and waits
// for the next (read(2) plus writev(2) on /dev/fuse).
//
// Each thread owns an io_uring and one registered entry (a header block and
// a payload buffer). FORGET and INTERRUPT still arrive on /dev/fuse, and so
// does everything when the ring cannot be set up, so the /dev/fuse workers
// keep running beside the ring.

#include <pthread.h>
#include <sys/uio.h>

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "fuse/proto.h"

namespace fspol::runtime {

class FsState;

// Where a ring request's reply goes (Call::slot).
struct RingSlot {
  proto::UringReqHeader* header = nullptr;
  char* payload = nullptr;
  size_t payload_cap = 0;
  bool replied = false;
};

// Copies a reply (iov[0]: the fuse_out_header) into the slot.
void ring_store_reply(RingSlot& slot, const iovec* iov, int count);

// The number of queues the kernel expects: one per possible CPU.
unsigned ring_queue_count();

// Empty when this process can create the io_uring instances the ring
// needs (128-byte SQEs, single issuer); else why not.
std::string ring_unavailable_reason();

// Turns on the fuse module's enable_uring parameter (it only permits
// servers to ask for the ring); empty on success, else why not.
std::string ring_enable_in_kernel();

class Ring {
 public:
  // `device_fd`: a /dev/fuse fd of the connection, after INIT.
  Ring(FsState& fs, int device_fd, size_t payload_size, unsigned queues);
  ~Ring();
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;

  // Starts `per_queue` threads on every queue; returns once each has
  // registered its entry: "" or the first error. After an error the kernel
  // would hold requests for ever: see force_fallback().
  std::string start(unsigned per_queue);
  // Makes the kernel drop the ring for this connection and go back to
  // /dev/fuse. False when even that is impossible.
  static bool force_fallback(int device_fd);
  // From a ring thread about to block (a waiting lock): adds a thread to
  // its queue, so requests from that CPU keep being served.
  static void add_spare_for_current_thread();
  // Makes every thread return (after the unmount, or to stop).
  void stop();
  void join();
  unsigned threads() const { return threads_.load(); }
  unsigned queues() const { return queues_; }

 private:
  void spawn(unsigned qid);  // mu_ held
  void run(unsigned qid);
  void report_setup(const std::string& error);

  FsState& fs_;
  int fd_;
  size_t payload_size_;
  unsigned queues_;
  std::atomic<bool> stopping_{false};
  std::atomic<unsigned> threads_{0};
  std::mutex mu_;
  std::vector<std::thread> pool_;   // mu_
  std::vector<pthread_t> handles_;  // mu_
  std::mutex setup_mu_;
  std::condition_variable setup_cv_;
  unsigned setup_reports_ = 0;  // setup_mu_
  std::string setup_error_;     // setup_mu_
};

}  // namespace fspol::runtime
