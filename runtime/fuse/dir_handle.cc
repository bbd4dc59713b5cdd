#include "fuse/dir_handle.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace fspol::runtime {
namespace {

// glibc's readdir buffer, and about what one READDIR reply of names holds.
constexpr size_t kChunk = 32 * 1024;

long read_chunk(int fd, std::vector<char>& into) {
  if (into.empty()) into.resize(kChunk);
  long n = ::syscall(SYS_getdents64, fd, into.data(), into.size());
  return n < 0 ? -errno : n;
}

}  // namespace

long DirHandle::next_chunk() {
  if (ahead_ready) {
    buf.swap(ahead);
    end = ahead_len;
    ahead_ready = false;
  } else {
    long n = read_chunk(fd.get(), buf);
    if (n < 0) return n;
    end = static_cast<size_t>(n);
  }
  pos = 0;
  if (end == 0) eof = true;
  return static_cast<long>(end);
}

int DirHandle::seek(int64_t to) {
  if (merged) {
    if (to < 0 || static_cast<size_t>(to) > starts.size()) return EINVAL;
    pos = static_cast<size_t>(to) == starts.size() ? end : starts[static_cast<size_t>(to)];
    offset = to;
    return 0;
  }
  if (::lseek(fd.get(), static_cast<off_t>(to), SEEK_SET) < 0) return errno;
  offset = to;
  pos = end = 0;
  eof = false;
  ahead_ready = false;
  return 0;
}

bool DirHandle::wants_readahead() const {
  return !eof && !ahead_ready && !ahead_queued && end > kChunk / 2;
}

DirReadahead::~DirReadahead() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void DirReadahead::queue(DirHandle* dh) {
  dh->ahead_queued = true;
  {
    std::lock_guard lock(mu_);
    queue_.push_back(dh);
    if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
  }
  work_cv_.notify_one();
}

void DirReadahead::cancel(DirHandle* dh) {
  std::unique_lock lock(mu_);
  queue_.erase(std::remove(queue_.begin(), queue_.end(), dh), queue_.end());
  done_cv_.wait(lock, [&] { return running_ != dh; });
}

void DirReadahead::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    work_cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (stop_) return;
    DirHandle* dh = queue_.front();
    queue_.pop_front();
    running_ = dh;
    lock.unlock();
    {
      std::lock_guard dir_lock(dh->mu);
      dh->ahead_queued = false;
      // A reader may have taken the chunk itself meanwhile, or reached the end.
      if (!dh->ahead_ready && !dh->eof) {
        long n = read_chunk(dh->fd.get(), dh->ahead);
        // On an error the reader reads again itself and reports it.
        if (n >= 0) {
          dh->ahead_len = static_cast<size_t>(n);
          dh->ahead_ready = true;
          chunks_.fetch_add(1, std::memory_order_relaxed);
        }
      }
    }
    lock.lock();
    running_ = nullptr;
    done_cv_.notify_all();
  }
}

}  // namespace fspol::runtime
