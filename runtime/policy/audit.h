#pragma once
// The audit log: one JSON line per audited request and matching audit
// rule, written by a thread of its own so that a request never waits for
// the disk. Requests hand records to a bounded queue; when it is full the
// record is dropped and counted (`fsrun status`), never the request
// delayed.
//
//   auto log = AuditLog::open("/var/log/fspol/x.log");   // or "syslog"
//   (*log)->record(AuditRecord{...});

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "fspol/result.h"

namespace fspol::runtime {

struct AuditRecord {
  std::string op;    // the operation atom: "write", "delete", ...
  std::string path;  // as seen in the view
  uint32_t uid = 0, gid = 0, pid = 0;
  std::string comm;
  int error = 0;     // 0: allowed
  std::string tag;
  std::string rule;  // file:line
};

class AuditLog {
 public:
  static constexpr size_t kQueueLimit = 8192;

  // An absolute file path (appended to, created 0640, not through a
  // symlink) or "syslog". Fails with the path and the reason.
  static Result<std::unique_ptr<AuditLog>> open(const std::string& where);
  ~AuditLog();

  void record(AuditRecord record);
  uint64_t written() const { return written_.load(std::memory_order_relaxed); }
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  const std::string& where() const { return where_; }

  // The JSON line of a record (without the newline), with the time given.
  static std::string json(const AuditRecord& record, int64_t unix_ns);

 private:
  AuditLog() = default;
  void run();

  std::string where_;
  int fd_ = -1;  // -1: syslog
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::pair<int64_t, AuditRecord>> queue_;
  bool stopping_ = false;
  std::atomic<uint64_t> written_{0};
  std::atomic<uint64_t> dropped_{0};
  std::thread thread_;
};

}  // namespace fspol::runtime
