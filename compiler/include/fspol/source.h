#pragma once
// Source files and locations. Every location in fspol is a byte range in a
// file owned by a SourceManager; line and column numbers are computed only
// when a diagnostic is rendered. Columns count bytes and are 1-based.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fspol/result.h"

namespace fspol {

// Identifies a file in a SourceManager. 0 means "no file".
using FileId = uint32_t;

// A half-open byte range [begin, end) in one file.
struct SourceRange {
  FileId file = 0;
  uint32_t begin = 0;
  uint32_t end = 0;

  bool valid() const { return file != 0; }
  // The smallest range covering both (they must be in the same file).
  static SourceRange cover(SourceRange a, SourceRange b);
};

struct LineCol {
  uint32_t line = 0;  // 1-based
  uint32_t col = 0;   // 1-based, in bytes
};

// One loaded file. `path` is kept exactly as the user gave it, so rendered
// diagnostics (and golden files) do not depend on the working directory.
class SourceFile {
 public:
  SourceFile(std::string path, std::string text);

  const std::string& path() const { return path_; }
  // The file it was read from ("" for text added, or read from stdin).
  const std::string& disk_path() const { return disk_path_; }
  void set_disk_path(std::string path) { disk_path_ = std::move(path); }
  std::string_view text() const { return text_; }
  LineCol line_col(uint32_t offset) const;
  // The text of a 1-based line, without its line terminator.
  std::string_view line_text(uint32_t line) const;
  uint32_t line_count() const { return static_cast<uint32_t>(line_starts_.size()); }

 private:
  std::string path_;
  std::string disk_path_;
  std::string text_;
  std::vector<uint32_t> line_starts_;
};

// Owns every file of a compilation. Files never move once added, so
// references returned by file() stay valid for the manager's lifetime.
class SourceManager {
 public:
  // Largest file we accept. Policies are small; this keeps a stray
  // multi-gigabyte argument from exhausting memory.
  static constexpr uint64_t kMaxFileSize = 64u << 20;

  FileId add(std::string path, std::string text);
  // Reads a file ("-" is standard input). Fails for directories, unreadable
  // and oversized files, with the path and reason in the error. `shown`,
  // if given, is the name diagnostics use instead of `path`.
  Result<FileId> load(const std::string& path, const std::string& shown = "");
  const SourceFile& file(FileId id) const { return *files_.at(id - 1); }
  // Ids run from 1 to count(), in the order files were added.
  FileId count() const { return static_cast<FileId>(files_.size()); }

 private:
  std::vector<std::unique_ptr<SourceFile>> files_;
};

}  // namespace fspol
