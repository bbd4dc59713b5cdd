#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iostream>
#include <iterator>

#include "fspol/source.h"

namespace fspol {

SourceRange SourceRange::cover(SourceRange a, SourceRange b) {
  if (!a.valid()) return b;
  if (!b.valid()) return a;
  return SourceRange{a.file, std::min(a.begin, b.begin), std::max(a.end, b.end)};
}

SourceFile::SourceFile(std::string path, std::string text)
    : path_(std::move(path)), text_(std::move(text)) {
  line_starts_.push_back(0);
  for (size_t i = 0; i < text_.size(); ++i) {
    if (text_[i] == '\n') line_starts_.push_back(static_cast<uint32_t>(i + 1));
  }
}

LineCol SourceFile::line_col(uint32_t offset) const {
  auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
  auto line = static_cast<uint32_t>(std::distance(line_starts_.begin(), it));
  return LineCol{line, offset - line_starts_[line - 1] + 1};
}

std::string_view SourceFile::line_text(uint32_t line) const {
  if (line == 0 || line > line_starts_.size()) return {};
  size_t begin = line_starts_[line - 1];
  size_t end = line < line_starts_.size() ? line_starts_[line] - 1 : text_.size();
  if (end > begin && text_[end - 1] == '\r') --end;
  return std::string_view(text_).substr(begin, end - begin);
}

FileId SourceManager::add(std::string path, std::string text) {
  files_.push_back(std::make_unique<SourceFile>(std::move(path), std::move(text)));
  return static_cast<FileId>(files_.size());
}

namespace {

Error io_error(const std::string& path, int code, const std::string& what) {
  return Error{code, path + ": " + what + (code ? std::string(": ") + std::strerror(code) : "")};
}

Result<std::string> read_all(int fd, const std::string& path) {
  std::string text;
  char buffer[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error(path, errno, "cannot read");
    }
    if (n == 0) return text;
    if (text.size() + static_cast<size_t>(n) > SourceManager::kMaxFileSize) {
      return io_error(path, EFBIG,
                      "file is larger than " +
                          std::to_string(SourceManager::kMaxFileSize >> 20) + " MiB");
    }
    text.append(buffer, static_cast<size_t>(n));
  }
}

}  // namespace

Result<FileId> SourceManager::load(const std::string& path, const std::string& shown) {
  if (path == "-") {
    auto text = read_all(STDIN_FILENO, "<stdin>");
    if (!text) return text.error();
    return add("<stdin>", std::move(*text));
  }
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) return io_error(path, errno, "cannot open");
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int saved = errno;
    ::close(fd);
    return io_error(path, saved, "cannot stat");
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    return io_error(path, 0, "is a directory, not a policy file");
  }
  if (!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode) && !S_ISCHR(st.st_mode)) {
    ::close(fd);
    return io_error(path, 0, "is not a regular file");
  }
  // O_NONBLOCK only kept open() from hanging on a FIFO without a writer.
  ::fcntl(fd, F_SETFL, 0);
  auto text = read_all(fd, path);
  ::close(fd);
  if (!text) return text.error();
  FileId id = add(shown.empty() ? path : shown, std::move(*text));
  files_.back()->set_disk_path(path);
  return id;
}

}  // namespace fspol
