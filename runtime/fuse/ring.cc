#include "fuse/ring.h"

#include <liburing.h>
#include <sched.h>
#include <signal.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>

#include "fuse/fs.h"
#include "fuse/kernel_order.h"
#include "fuse/session.h"
#include "log.h"

namespace fspol::runtime {
namespace {

thread_local Ring* tl_ring = nullptr;
thread_local unsigned tl_qid = 0;

constexpr unsigned kRingFlags =
    IORING_SETUP_SQE128 | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;

void prep_cmd(io_uring_sqe* sqe, int fd, uint32_t op, unsigned qid, uint64_t commit_id) {
  std::memset(sqe, 0, 2 * sizeof *sqe);  // SQE128: the command spills into the second half
  sqe->opcode = IORING_OP_URING_CMD;
  sqe->fd = fd;
  sqe->cmd_op = op;
  auto* cmd = reinterpret_cast<proto::UringCmdReq*>(sqe->cmd);
  cmd->qid = static_cast<uint16_t>(qid);
  cmd->commit_id = commit_id;
}

// REGISTER reads the iovec array (header block, payload) when submitted.
void prep_register(io_uring_sqe* sqe, int fd, unsigned qid, iovec* iov) {
  prep_cmd(sqe, fd, proto::kUringCmdRegister, qid, 0);
  sqe->addr = reinterpret_cast<uint64_t>(iov);
  sqe->len = 2;
}

void pin_to_cpu(unsigned cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  // An offline CPU has no callers either: its thread may run anywhere.
  (void)pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

}  // namespace

void ring_store_reply(RingSlot& slot, const iovec* iov, int count) {
  auto* out = reinterpret_cast<fuse_out_header*>(slot.header->in_out);
  std::memcpy(out, iov[0].iov_base, sizeof *out);
  size_t used = 0;
  for (int i = 1; i < count; ++i) {
    if (iov[i].iov_len > slot.payload_cap - used) {
      // Never with the sizes the kernel negotiates; answer rather than
      // leave the caller waiting.
      out->error = -EIO;
      used = 0;
      break;
    }
    std::memcpy(slot.payload + used, iov[i].iov_base, iov[i].iov_len);
    used += iov[i].iov_len;
  }
  out->len = static_cast<uint32_t>(sizeof *out + used);
  slot.header->ring_ent_in_out.payload_sz = static_cast<uint32_t>(used);
  slot.replied = true;
}

unsigned ring_queue_count() {
  // The kernel sizes the ring by num_possible_cpus() and picks a queue by
  // the caller's CPU number; "0-N" is the possible mask here.
  std::ifstream in("/sys/devices/system/cpu/possible");
  std::string mask;
  if (!(in >> mask)) return 0;
  unsigned count = 0;
  size_t start = 0;
  while (start < mask.size()) {
    size_t comma = mask.find(',', start);
    if (comma == std::string::npos) comma = mask.size();
    std::string part = mask.substr(start, comma - start);
    unsigned lo = 0, hi = 0;
    if (std::sscanf(part.c_str(), "%u-%u", &lo, &hi) == 2) {
      count += hi - lo + 1;
    } else if (std::sscanf(part.c_str(), "%u", &lo) == 1) {
      count += 1;
    }
    start = comma + 1;
  }
  return count;
}

std::string ring_unavailable_reason() {
  io_uring ring;
  io_uring_params params{};
  params.flags = kRingFlags;
  int rc = io_uring_queue_init_params(2, &ring, &params);
  if (rc < 0) return std::string("io_uring_setup: ") + std::strerror(-rc);
  io_uring_queue_exit(&ring);
  if (ring_queue_count() == 0) return "cannot read /sys/devices/system/cpu/possible";
  return "";
}

std::string ring_enable_in_kernel() {
  const char* param = "/sys/module/fuse/parameters/enable_uring";
  std::ifstream in(param);
  std::string value;
  if (!(in >> value)) return "the fuse module has no enable_uring parameter (no CONFIG_FUSE_IO_URING)";
  if (value == "Y" || value == "1") return "";
  std::ofstream out(param);
  if (!(out << "1" << std::flush)) {
    return std::string("cannot turn on ") + param + ": " + std::strerror(errno);
  }
  return "";
}

Ring::Ring(FsState& fs, int device_fd, size_t payload_size, unsigned queues)
    : fs_(fs), fd_(device_fd), payload_size_(payload_size), queues_(queues) {}

Ring::~Ring() {
  stop();
  join();
}

std::string Ring::start(unsigned per_queue) {
  {
    std::lock_guard lock(mu_);
    for (unsigned q = 0; q < queues_; ++q) {
      for (unsigned i = 0; i < per_queue; ++i) spawn(q);
    }
  }
  std::unique_lock lock(setup_mu_);
  // >=: a spare thread added by a blocking handler in the meantime reports too.
  setup_cv_.wait(lock, [&] { return setup_reports_ >= queues_ * per_queue; });
  return setup_error_;
}

void Ring::report_setup(const std::string& error) {
  std::lock_guard lock(setup_mu_);
  if (!error.empty() && setup_error_.empty()) setup_error_ = error;
  setup_reports_++;
  setup_cv_.notify_all();
}

bool Ring::force_fallback(int device_fd) {
  // A REGISTER for a queue that cannot exist makes the kernel give up the
  // ring for this connection and serve /dev/fuse again.
  io_uring ring;
  io_uring_params params{};
  params.flags = IORING_SETUP_SQE128;
  if (io_uring_queue_init_params(2, &ring, &params) < 0) return false;
  proto::UringReqHeader header{};
  std::vector<char> payload(FUSE_MIN_READ_BUFFER);
  iovec iov[2] = {{&header, sizeof header}, {payload.data(), payload.size()}};
  prep_register(io_uring_get_sqe(&ring), device_fd, 0xffff, iov);
  io_uring_cqe* cqe = nullptr;
  bool refused = io_uring_submit_and_wait(&ring, 1) == 1 && io_uring_peek_cqe(&ring, &cqe) == 0 &&
                 cqe != nullptr && cqe->res < 0;
  io_uring_queue_exit(&ring);
  return refused;
}

void Ring::spawn(unsigned qid) {
  threads_++;
  pool_.emplace_back([this, qid] { run(qid); });
  handles_.push_back(pool_.back().native_handle());
}

void Ring::add_spare_for_current_thread() {
  Ring* ring = tl_ring;
  if (ring == nullptr) return;
  std::lock_guard lock(ring->mu_);
  if (!ring->stopping_.load()) ring->spawn(tl_qid);
}

void Ring::stop() {
  // Once: a later call (~Ring after join()) would signal threads already
  // joined, whose handles are gone (a crash at exit). No thread is
  // spawned after the first call (add_spare_for_current_thread checks
  // stopping_ under mu_).
  if (stopping_.exchange(true)) return;
  std::lock_guard lock(mu_);
  for (pthread_t t : handles_) {
    if (!pthread_equal(t, pthread_self())) pthread_kill(t, SIGUSR1);
  }
}

void Ring::join() {
  for (;;) {
    std::vector<std::thread> pool;
    {
      std::lock_guard lock(mu_);
      pool = std::move(pool_);
      pool_.clear();
    }
    if (pool.empty()) return;
    for (std::thread& t : pool) t.join();
  }
}

void Ring::run(unsigned qid) {
  tl_ring = this;
  tl_qid = qid;
  pin_to_cpu(qid);
  io_uring ring;
  io_uring_params params{};
  params.flags = kRingFlags;
  if (int rc = io_uring_queue_init_params(4, &ring, &params); rc < 0) {
    report_setup(std::string("io_uring_setup: ") + std::strerror(-rc));
    threads_--;
    return;
  }
  auto header = std::make_unique<proto::UringReqHeader>();
  // Room for the fixed-size argument before the payload, so a handler
  // sees one contiguous argument block as from /dev/fuse.
  std::vector<char> buffer(proto::kUringHeaderSize + payload_size_);
  char* payload = buffer.data() + proto::kUringHeaderSize;
  iovec iov[2] = {{header.get(), sizeof *header}, {payload, payload_size_}};
  RingSlot slot{header.get(), payload, payload_size_, false};

  prep_register(io_uring_get_sqe(&ring), fd_, qid, iov);
  // A refused REGISTER completes at once; a good one only with a request.
  int submitted = io_uring_submit(&ring);
  io_uring_cqe* early = nullptr;
  if (submitted != 1) {
    report_setup(std::string("submitting FUSE_IO_URING_CMD_REGISTER: ") +
                 std::strerror(submitted < 0 ? -submitted : EIO));
  } else if (io_uring_peek_cqe(&ring, &early) == 0 && early != nullptr && early->res < 0) {
    report_setup(std::string("FUSE_IO_URING_CMD_REGISTER: ") + std::strerror(-early->res));
  } else {
    report_setup("");
  }
  while (submitted == 1 && !stopping_.load(std::memory_order_relaxed)) {
    int rc = io_uring_submit_and_wait(&ring, 1);
    if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
      log_error("FUSE ring queue %u: io_uring_enter: %s", qid, std::strerror(-rc));
      break;
    }
    io_uring_cqe* cqe = nullptr;
    if (io_uring_peek_cqe(&ring, &cqe) != 0 || cqe == nullptr) continue;
    int res = cqe->res;
    io_uring_cqe_seen(&ring, cqe);
    if (res < 0) {
      // ENOTCONN/ECANCELED: unmounted or torn down.
      if (res != -ENOTCONN && res != -ECANCELED) {
        log_error("FUSE ring queue %u: %s", qid, std::strerror(-res));
      }
      break;
    }
    auto* in = reinterpret_cast<fuse_in_header*>(header->in_out);
    uint32_t payload_sz = header->ring_ent_in_out.payload_sz;
    size_t args = in->len >= sizeof *in ? in->len - sizeof *in : 0;
    Call call;
    call.fd = fd_;
    call.slot = &slot;
    call.in = in;
    slot.replied = false;
    if (payload_sz > payload_size_ || args < payload_sz ||
        args - payload_sz > proto::kUringHeaderSize) {
      reply_error(call, EIO);
    } else {
      request_arrives();
      size_t fixed = args - payload_sz;
      std::memcpy(payload - fixed, header->op_in, fixed);
      call.arg = payload - fixed;
      call.arglen = args;
      fs_.dispatch(call);
      if (!slot.replied) reply_error(call, EIO);
    }
    prep_cmd(io_uring_get_sqe(&ring), fd_, proto::kUringCmdCommitAndFetch, qid,
             header->ring_ent_in_out.commit_id);
  }
  io_uring_queue_exit(&ring);
  threads_--;
}

}  // namespace fspol::runtime
