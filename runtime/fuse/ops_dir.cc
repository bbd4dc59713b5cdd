// Directories: opendir, readdir and readdirplus, releasedir, fsyncdir.
//
// Entries come from the DirHandle's getdents64 chunks (dir_handle.h) and
// go to the kernel in FUSE's format. Offsets are the lower file system's
// d_off cookies, so a kernel that seeks (telldir/seekdir, or a reply cut
// short) resumes exactly where it asks.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "fuse/fs.h"
#include "fuse/proto.h"
#include "log.h"

namespace fspol::runtime {
namespace {

struct LinuxDirent64 {
  uint64_t d_ino;
  int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  // The NUL-terminated name follows at kNameOffset.
};
constexpr size_t kNameOffset = 19;  // offsetof(struct linux_dirent64, d_name)

DirHandle* dir_of(uint64_t fh) { return reinterpret_cast<DirHandle*>(static_cast<uintptr_t>(fh)); }

}  // namespace

int FsState::op_opendir(const Call& call) {
  Inode* inode = node(call.in->nodeid);
  auto dh = std::make_unique<DirHandle>();
  dh->inode = inode;
  int r = open_node(inode, O_RDONLY | O_DIRECTORY, dh->fd);
  if (r < 0) return -r;
  if (int err = fd_room(r)) return err;  // kept for requests
  if (engine_->places()) {
    if (int err = merge_listing(dh.get(), call)) return err;
  }
  proto::OpenOut out{};
  out.fh = reinterpret_cast<uintptr_t>(dh.release());
  // A kept listing would show one caller's view to the next.
  if (options_.cache == CacheMode::kAlways &&
      (engine_->listings_caller_independent() || engine_->lists_as_is(inode->state))) {
    out.open_flags = proto::kOpenKeepCache | proto::kOpenCacheDir;
  }
  reply(call, out);
  return 0;
}

// Whether the policy shows the lower entry `name` of `dh` to the caller,
// and under which name (`view`).
bool FsState::listed(Inode* dir, int dirfd, unsigned char d_type, const char* name,
                     const Call& call, std::string& view) {
  if (std::strcmp(name, ".") == 0 || std::strcmp(name, "..") == 0) {
    view = name;
    return true;
  }
  uint8_t type = 0;
  switch (d_type) {
    case DT_DIR: type = syntax::kTypeDir; break;
    case DT_LNK: type = syntax::kTypeSymlink; break;
    case DT_FIFO: type = syntax::kTypeFifo; break;
    case DT_SOCK: type = syntax::kTypeSocket; break;
    case DT_CHR: type = syntax::kTypeChardev; break;
    case DT_BLK: type = syntax::kTypeBlockdev; break;
    case DT_REG: type = syntax::kTypeFile; break;
    default: {
      struct stat st{};
      if (::fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) return true;
      type = type_bit(st.st_mode);
    }
  }
  bool unnamed = false;
  if (engine_->dirent(dir->state, name, type, caller_of(call), view, &unnamed)) return true;
  if (unnamed && unnamed_.fetch_add(1, std::memory_order_relaxed) < 10) {
    std::string path = view_path(dir);
    log_warn(
        "%s/%s: no view name maps to this lower name (the policy's rename rules): not "
        "listed, not reachable",
        path.c_str(), name);
  }
  return false;
}

int FsState::readdir_common(const Call& call, bool plus) {
  const auto* in = call.args<fuse_read_in>();
  if (in == nullptr) return EINVAL;
  DirHandle* dh = dir_of(in->fh);
  // N.B. the reply must leave after the lock is released: once the kernel
  // has the reply, the caller may close the directory and another worker
  // may delete `dh` (RELEASEDIR) while this one still unlocks its mutex.
  std::unique_lock lock(dh->mu);
  if (static_cast<int64_t>(in->offset) != dh->offset) {
    if (int r = dh->seek(static_cast<int64_t>(in->offset)); r != 0) return r;
  }
  bool as_is = engine_->lists_as_is(dh->inode->state);
  thread_local std::vector<char> out;
  size_t cap = std::min<size_t>(in->size, options_.max_write);  // as reads (op_read)
  if (out.size() < cap) out.resize(cap);
  size_t used = 0;
  for (;;) {
    if (dh->pos >= dh->end) {
      if (dh->eof) break;
      long n = dh->next_chunk();
      if (n < 0) {
        if (used == 0) return static_cast<int>(-n);
        break;
      }
      if (n == 0) break;
    }
    const auto* d = reinterpret_cast<const LinuxDirent64*>(dh->buf.data() + dh->pos);
    const char* d_name = dh->buf.data() + dh->pos + kNameOffset;
    // The name the view lists: the lower one, or its name map's.
    thread_local std::string view;
    const char* shown = d_name;
    if (!as_is) {
      if (!listed(dh->inode, dh->fd.get(), d->d_type, d_name, call, view)) {
        dh->pos += d->d_reclen;  // hidden from this caller: offsets stay the lower ones
        dh->offset = d->d_off;
        continue;
      }
      shown = view.c_str();
    }
    size_t namelen = std::strlen(shown);
    size_t reclen = plus ? FUSE_REC_ALIGN(FUSE_NAME_OFFSET_DIRENTPLUS + namelen)
                         : FUSE_REC_ALIGN(FUSE_NAME_OFFSET + namelen);
    if (used + reclen > cap) break;
    fuse_dirent* de;
    char* rec = out.data() + used;
    std::memset(rec, 0, reclen);
    if (plus) {
      auto* dp = reinterpret_cast<fuse_direntplus*>(rec);
      bool dot = std::strcmp(d_name, ".") == 0 || std::strcmp(d_name, "..") == 0;
      // A merged listing's names may live elsewhere: the kernel looks
      // them up.
      if (!dot && !dh->merged) {
        struct stat st{};
        if (::fstatat(dh->fd.get(), d_name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
          NodeState state = state_of(dh->inode, shown, call);
          // An entry is a lookup the kernel need not make: one the policy
          // refuses goes out as a name only, and its LOOKUP is refused.
          bool looks_up = engine_->trivial() ||
                          engine_->check(state, ir::bit(ir::Op::kLookup), type_bit(st.st_mode),
                                         caller_of(call)) == 0;
          Inode* child = looks_up ? inodes_->learn(dh->inode, d_name, st, state,
                                                   handler_of(state, st, call), std::nullopt)
                                  : nullptr;
          // An object with too many views: likewise.
          if (child != nullptr) fill_entry(dp->entry_out, child, st, call);
        } else if (errno == ENOENT) {
          // Gone since getdents: skip it, as a later readdir would.
          dh->pos += d->d_reclen;
          dh->offset = d->d_off;
          continue;
        }
        // Otherwise (a directory the caller may read but not search) the
        // name goes out without attributes (node id 0), as ls would see
        // it directly: the name, and EACCES for a stat.
      }
      de = &dp->dirent;
    } else {
      de = reinterpret_cast<fuse_dirent*>(rec);
    }
    de->ino = d->d_ino;
    de->off = static_cast<uint64_t>(d->d_off);
    de->namelen = static_cast<uint32_t>(namelen);
    de->type = d->d_type;
    std::memcpy(de->name, shown, namelen);
    used += reclen;
    dh->pos += d->d_reclen;
    dh->offset = d->d_off;
  }
  if (dh->wants_readahead()) readahead_.queue(dh);
  lock.unlock();
  reply_data(call, out.data(), used);
  return 0;
}

int FsState::op_readdir(const Call& call) { return readdir_common(call, false); }
int FsState::op_readdirplus(const Call& call) { return readdir_common(call, true); }

int FsState::op_releasedir(const Call& call) {
  const auto* in = call.args<fuse_release_in>();
  if (in == nullptr) return EINVAL;
  DirHandle* dh = dir_of(in->fh);
  readahead_.cancel(dh);
  delete dh;
  reply_data(call, nullptr, 0);
  return 0;
}

int FsState::op_fsyncdir(const Call& call) {
  const auto* in = call.args<fuse_fsync_in>();
  if (in == nullptr) return EINVAL;
  return sync_and_reply(call, dir_of(in->fh)->fd.get(), in->fsync_flags);
}

}  // namespace fspol::runtime
