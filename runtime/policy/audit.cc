#include "policy/audit.h"

#include <fcntl.h>
#include <syslog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "support/json.h"

namespace fspol::runtime {

namespace {

int64_t now_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

}  // namespace

Result<std::unique_ptr<AuditLog>> AuditLog::open(const std::string& where) {
  std::unique_ptr<AuditLog> log(new AuditLog);
  log->where_ = where;
  if (where != "syslog") {
    // The daemon's working directory is nobody's business: a relative
    // path would land somewhere unexpected.
    if (where.empty() || where[0] != '/') {
      return Error{EINVAL, where + ": the audit log must be an absolute path or \"syslog\""};
    }
    log->fd_ = ::open(where.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
    if (log->fd_ < 0) {
      return Error{errno, where + ": cannot open the audit log: " + std::strerror(errno)};
    }
  } else {
    ::openlog("fsrun", LOG_PID | LOG_NDELAY, LOG_AUTHPRIV);
  }
  log->thread_ = std::thread([raw = log.get()] { raw->run(); });
  return log;
}

AuditLog::~AuditLog() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
  if (fd_ >= 0) ::close(fd_);
}

void AuditLog::record(AuditRecord record) {
  int64_t t = now_ns();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (queue_.size() >= kQueueLimit) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    queue_.emplace_back(t, std::move(record));
  }
  wake_.notify_one();
}

void AuditLog::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty() && stopping_) return;
    std::deque<std::pair<int64_t, AuditRecord>> batch;
    batch.swap(queue_);
    lock.unlock();
    std::string text;
    for (const auto& [t, r] : batch) {
      if (fd_ < 0) {
        ::syslog(LOG_NOTICE, "%s", json(r, t).c_str());
      } else {
        text += json(r, t);
        text += '\n';
      }
    }
    size_t done = 0;
    while (done < text.size()) {
      ssize_t n = ::write(fd_, text.data() + done, text.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // a full disk: the rest of the batch is lost, and counted
      done += static_cast<size_t>(n);
    }
    uint64_t lost = done < text.size() ? static_cast<uint64_t>(batch.size()) : 0;
    dropped_.fetch_add(lost, std::memory_order_relaxed);
    written_.fetch_add(batch.size() - lost, std::memory_order_relaxed);
    lock.lock();
  }
}

std::string AuditLog::json(const AuditRecord& r, int64_t unix_ns) {
  time_t secs = static_cast<time_t>(unix_ns / 1000000000);
  tm utc{};
  ::gmtime_r(&secs, &utc);
  char stamp[40];
  size_t n = std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(stamp + n, sizeof stamp - n, ".%03dZ", static_cast<int>((unix_ns / 1000000) % 1000));
  const char* err = r.error ? ::strerrorname_np(r.error) : nullptr;
  return std::string("{\"time\": \"") + stamp + "\", \"op\": " + json_quote(r.op) +
         ", \"path\": " + json_quote(r.path) + ", \"uid\": " + std::to_string(r.uid) +
         ", \"gid\": " + std::to_string(r.gid) + ", \"pid\": " + std::to_string(r.pid) +
         ", \"comm\": " + json_quote(r.comm) + ", \"verdict\": \"" +
         (r.error ? "denied" : "allowed") + "\", \"errno\": " +
         (r.error ? json_quote(err ? err : std::to_string(r.error)) : std::string("null")) +
         ", \"tag\": " + json_quote(r.tag) + ", \"rule\": " + json_quote(r.rule) + "}";
}

}  // namespace fspol::runtime
