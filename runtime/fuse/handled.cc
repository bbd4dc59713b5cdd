#include "fuse/handled.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "log.h"

namespace fspol::runtime {

Result<std::string> HandledContents::read_file(int fd) {
  std::string out;
  while (true) {
    size_t at = out.size();
    out.resize(at + 65536);
    ssize_t n = ::pread(fd, out.data() + at, 65536, static_cast<off_t>(at));
    if (n < 0) {
      if (errno == EINTR) {
        out.resize(at);
        continue;
      }
      return Error{errno, std::strerror(errno)};
    }
    out.resize(at + static_cast<size_t>(n));
    if (n == 0) return out;
    if (out.size() > kMaxHandledSize) {
      return Error{EFBIG, "larger than a handler takes (" + std::to_string(kMaxHandledSize >> 20) +
                              " MiB)"};
    }
  }
}

void HandledContents::reset(std::vector<std::shared_ptr<const Handler>> handlers) {
  std::lock_guard lock(mu_);
  handlers_ = std::move(handlers);
  lru_.clear();
  index_.clear();
  used_ = 0;
}

Result<std::shared_ptr<const std::string>> HandledContents::get(
    uint32_t handler, const std::string& path, const struct stat& st,
    const std::function<Result<std::string>()>& read_lower) {
  // One version of one file, as one handler shows it at one path.
  std::string key = std::to_string(handler) + ':' + std::to_string(st.st_dev) + ':' +
                    std::to_string(st.st_ino) + ':' + std::to_string(st.st_size) + ':' +
                    std::to_string(st.st_mtim.tv_sec) + '.' + std::to_string(st.st_mtim.tv_nsec) +
                    ':' + std::to_string(st.st_ctim.tv_sec) + '.' +
                    std::to_string(st.st_ctim.tv_nsec) + ':' + path;
  {
    std::lock_guard lock(mu_);
    auto it = index_.find(key);
    if (it != index_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second);
      return it->second->second;
    }
  }
  auto lower = read_lower();
  if (!lower) return lower.error();
  const Handler& h = *handlers_.at(handler - 1);
  auto served = h.read(path, *lower);
  if (!served) {
    Error e = served.error();
    if (e.code == 0) e.code = EIO;
    log_warn("%s: the handler failed: %s", path.c_str(), e.message.c_str());
    return e;
  }
  auto contents = std::make_shared<const std::string>(std::move(*served));
  std::lock_guard lock(mu_);
  if (contents->size() > budget_ || index_.count(key) != 0) return contents;
  lru_.emplace_front(key, contents);
  index_[key] = lru_.begin();
  used_ += contents->size();
  while (used_ > budget_) {
    used_ -= lru_.back().second->size();
    index_.erase(lru_.back().first);
    lru_.pop_back();
  }
  return contents;
}

}  // namespace fspol::runtime
