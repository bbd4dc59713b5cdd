#pragma once
// An open directory and its read-ahead.
//
// A DirHandle reads the lower directory with getdents64 in chunks. Listing
// a big directory is a chain of READDIR round trips, each waiting for the
// lower getdents64 before the kernel can copy entries out; the read-ahead
// thread reads the next chunk while the kernel and the caller consume the
// current one, so the lower file system and the FUSE side work in
// parallel. POSIX leaves it open whether entries created or removed after
// opendir show up, so a chunk read a little earlier is a valid listing.
//
// The lower fd's position is always the end of (current chunk + ready
// read-ahead chunk); both are guarded by the handle's mutex.

#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "fuse/lower.h"

namespace fspol::runtime {

struct Inode;

struct DirHandle {
  std::mutex mu;
  UniqueFd fd;
  Inode* inode = nullptr;
  std::vector<char> buf;   // current chunk of linux_dirent64 records
  size_t pos = 0;          // next unread byte in buf
  size_t end = 0;          // bytes valid in buf
  int64_t offset = 0;      // directory offset of the next entry
  bool eof = false;        // the lower directory has no entries after buf
  std::vector<char> ahead;  // the read-ahead chunk
  size_t ahead_len = 0;
  bool ahead_ready = false;   // `ahead` holds the chunk after buf
  bool ahead_queued = false;  // waiting for the read-ahead thread
  // A listing merged from several lower directories (redirects bring
  // names in): `buf` holds all of it, read at opendir, with offsets
  // 1, 2, ... (the record at `starts[k]` comes after offset k).
  bool merged = false;
  std::vector<size_t> starts;

  // mu held. Makes the next chunk current (the read-ahead one when ready);
  // returns its size, 0 at the end of the directory, or -errno.
  long next_chunk();
  // mu held. The kernel asks for `offset` but the handle is elsewhere
  // (seekdir, rewinddir, a reply cut short): reposition, dropping chunks.
  int seek(int64_t to);
  // mu held. Whether reading ahead is worth it: the last chunk was large
  // (small directories end in one chunk) and nothing is read or queued.
  bool wants_readahead() const;
};

// The one read-ahead thread of a mount, started on first use.
class DirReadahead {
 public:
  DirReadahead() = default;
  ~DirReadahead();
  DirReadahead(const DirReadahead&) = delete;
  DirReadahead& operator=(const DirReadahead&) = delete;

  // dh->mu held and dh->wants_readahead(): reads dh's next chunk soon.
  void queue(DirHandle* dh);
  // Before `dh` is deleted (dh->mu not held): takes it out of the queue and
  // waits if it is being read.
  void cancel(DirHandle* dh);
  // Chunks read ahead so far (for `fsrun status`).
  uint64_t chunks() const { return chunks_.load(std::memory_order_relaxed); }

 private:
  void run();

  std::mutex mu_;
  std::condition_variable work_cv_;
  std::condition_variable done_cv_;
  std::deque<DirHandle*> queue_;
  DirHandle* running_ = nullptr;
  bool stop_ = false;
  std::atomic<uint64_t> chunks_{0};
  std::thread thread_;
};

}  // namespace fspol::runtime
