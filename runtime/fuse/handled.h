#pragma once
// What userspace handlers serve (fspol/runtime/handler.h): the output of
// a `handle read` rule's handler for one version of a lower file, computed
// when a served caller first opens or stats the file and kept, within a
// memory budget, for the next (a handler is a pure function of the view
// path and the contents, so callers it serves share its output).

#include <sys/stat.h>

#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "fspol/result.h"
#include "fspol/runtime/handler.h"

namespace fspol::runtime {

class HandledContents {
 public:
  // `handlers`: by rule id (Policy::handlers).
  explicit HandledContents(std::vector<std::shared_ptr<const Handler>> handlers,
                           size_t budget = size_t{64} << 20)
      : handlers_(std::move(handlers)), budget_(budget) {}

  // A reloaded policy's handlers (the same ones, under its rule ids):
  // forgets what was kept under the old ids.
  void reset(std::vector<std::shared_ptr<const Handler>> handlers);

  // What the handler of rule `handler` - 1 serves for the lower object
  // `st` at view path `path`, whose contents `read_lower` reads (called
  // only when this version is not kept). Errors carry an errno.
  Result<std::shared_ptr<const std::string>> get(
      uint32_t handler, const std::string& path, const struct stat& st,
      const std::function<Result<std::string>()>& read_lower);

  // The contents of the regular file open as `fd`, at most
  // kMaxHandledSize bytes (EFBIG beyond).
  static Result<std::string> read_file(int fd);

 private:
  using Entry = std::pair<std::string, std::shared_ptr<const std::string>>;

  std::vector<std::shared_ptr<const Handler>> handlers_;
  size_t budget_;
  std::mutex mu_;
  size_t used_ = 0;
  std::list<Entry> lru_;  // most recent first
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;
};

}  // namespace fspol::runtime
