// FsState: setup, dispatch, the helpers every handler uses, and the
// name-space operations (lookup .. link). File, directory and xattr
// operations live in ops_file.cc, ops_dir.cc and ops_misc.cc.
#include "fuse/fs.h"

#include <fcntl.h>
#include <linux/limits.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <new>
#include <tuple>

#include "fspol/runtime/runtime.h"
#include "fuse/credentials.h"
#include "fuse_bpf_abi.h"
#include "log.h"

namespace fspol::runtime {
namespace {

uint64_t to_ns(double seconds) {
  if (!(seconds > 0)) return 0;
  return static_cast<uint64_t>(std::llround(seconds * 1e9));
}

// A FUSE name argument: NUL-terminated, no '/'; "." and ".." never name a
// child here (the kernel resolves them itself).
bool valid_name(const char* name, size_t max) {
  size_t len = strnlen(name, max);
  if (len == 0 || len == max) return false;
  if (std::strchr(name, '/') != nullptr) return false;
  return !(std::strcmp(name, ".") == 0 || std::strcmp(name, "..") == 0);
}

// Whether the handler of `opcode` must run with the caller's credentials.
bool runs_as_caller(uint32_t opcode) {
  switch (opcode) {
#define FSPOL_FUSE_OP(opcode, name, as_caller) \
  case opcode:                                           \
    return as_caller;
#include "fuse/fuse_ops.def"
    default:
      return true;
  }
}

}  // namespace

FsState::FsState(const MountOptions& options, const Policy* policy)
    : options_(options),
      policy_(policy),
      engine_(policy->engine.get()),
      handled_(policy->handlers) {
  pthread_rwlockattr_t attr;
  pthread_rwlockattr_init(&attr);
  pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
  pthread_rwlock_init(&policy_lock_, &attr);
  pthread_rwlockattr_destroy(&attr);
  bool cache = options.cache != CacheMode::kNever;
  entry_valid_ns_ = cache ? to_ns(options.entry_timeout) : 0;
  attr_valid_ns_ = cache ? to_ns(options.attr_timeout) : 0;
  negative_valid_ns_ = cache ? to_ns(options.negative_timeout) : 0;
  // Kept for requests: an eighth of the table, 16 to 256 descriptors (a
  // request takes at most three or four for a moment, and at most one
  // per worker and queue thread runs at a time).
  rlimit rl{};
  ::getrlimit(RLIMIT_NOFILE, &rl);
  fd_limit_ = static_cast<int>(std::min<rlim_t>(rl.rlim_cur, 1 << 30));
  int reserve = std::clamp(fd_limit_ / 8, 16, 256);
  fd_ceiling_ = std::max(fd_limit_ - reserve, fd_limit_ / 2);
}

FsState::~FsState() { pthread_rwlock_destroy(&policy_lock_); }

Result<void> FsState::open_lower() {
  // The main root, then every root the policy declares, each where -o
  // lower.NAME=PATH says or else where the policy says.
  std::vector<std::pair<std::string, std::string>> roots = {{"main", options_.lower}};
  for (const ir::Lower& l : engine_->policy().lowers) {
    if (l.name != "main") roots.emplace_back(l.name, l.path);
  }
  std::vector<bool> from_option(roots.size(), false);
  for (const auto& [name, path] : options_.lower_roots) {
    auto it =
        std::find_if(roots.begin(), roots.end(), [&](const auto& r) { return r.first == name; });
    if (it == roots.end() || name == "main") {
      std::string declared;
      for (size_t i = 1; i < roots.size(); ++i) declared += (i > 1 ? ", " : "") + roots[i].first;
      return Error{EINVAL, "-o lower." + name + "=" + path + ": " +
                               (name == "main"
                                    ? std::string("the main lower root is the LOWER argument")
                                    : "the policy declares no lower root '" + name + "'" +
                                          (declared.empty() ? std::string(" (it declares none)")
                                                            : " (it declares " + declared + ")"))};
    }
    it->second = path;
    from_option[static_cast<size_t>(it - roots.begin())] = true;
  }
  for (size_t i = 0; i < roots.size(); ++i) {
    const auto& [name, path] = roots[i];
    int fd = ::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
      int err = errno;
      if (name == "main") {
        return Error{err, "cannot open lower directory " + path + ": " + std::strerror(err)};
      }
      // A path from the policy may just be elsewhere on this machine.
      return Error{
          err,
          "cannot open lower root '" + name + "' (" + path + "): " + std::strerror(err) +
              (from_option[i] ? std::string()
                              : " (the policy's path; -o lower." + name + "=DIR gives another)")};
    }
    roots_.emplace_back(fd);
    root_names_.push_back(name);
    root_paths_.push_back(path);
    struct stat rst {};
    ::fstat(fd, &rst);
    root_ids_.emplace_back(rst.st_dev, rst.st_ino);
    std::string kind;
    bool aliases = may_alias_names(fd, kind);
    root_aliases_.push_back(aliases);
    aliases_ = aliases_ || aliases;
    if (aliases && !engine_->trivial()) {
      log_info(
          "lower %s (%s) is on %s, which may resolve other bytes to a stored name: "
          "names are reached only as stored",
          name.c_str(), path.c_str(), kind.c_str());
    }
  }
  int fd = roots_[0].get();
  struct stat st{};
  if (::fstat(fd, &st) != 0) return Error{errno, "cannot stat " + options_.lower};
  inodes_ = std::make_unique<InodeTable>(st);
  if (!engine_->trivial()) inodes_->root()->state = engine_->root();
  if (engine_->audits()) {
    auto log = AuditLog::open(options_.audit_log.empty() ? "syslog" : options_.audit_log);
    if (!log) return log.error();
    audit_ = std::move(*log);
  }
  return {};
}

std::vector<FsState::Root> FsState::roots() const {
  std::vector<Root> out;
  for (size_t i = 0; i < roots_.size(); ++i) {
    out.push_back(Root{root_names_[i], root_paths_[i], roots_[i].get()});
  }
  return out;
}

const char* FsState::opcode_name(uint32_t opcode) {
  switch (opcode) {
#define FSPOL_FUSE_OP(opcode, name, as_caller) \
  case opcode:                                \
    return #name;
#include "fuse/fuse_ops.def"
    default:
      return nullptr;
  }
}

void FsState::dispatch(const Call& call) noexcept {
  uint32_t opcode = call.in->opcode;
  bool is_filter = (opcode & ~static_cast<uint32_t>(FUSE_OPCODE_FILTER)) != 0;
  if (!is_filter && opcode < counters_.size())
    counters_[opcode].fetch_add(1, std::memory_order_relaxed);
  int err = ENOSYS;
  pthread_rwlock_rdlock(&policy_lock_);
  try {
    KernelLinkSource source(*this, call);
    if (is_filter) {
      err = filters_ ? filter(call) : ENOSYS;
    } else {
      err = filters_ && !(ids_known(call) && handles_known(call)) ? unknown_node(call) : run(call);
    }
  } catch (const std::bad_alloc&) {
    err = ENOMEM;
  }
  pthread_rwlock_unlock(&policy_lock_);
  if (filters_ && err == 0) forget_made(call);
  if (err == EMFILE || err == ENFILE) err = out_of_fds(call);
  if (err != 0) {
    if (err != ENOENT && err != ENOSYS && err != ENODATA) errors_.fetch_add(1, std::memory_order_relaxed);
    if (opcode != FUSE_FORGET && opcode != FUSE_BATCH_FORGET && opcode != FUSE_INTERRUPT) {
      reply_error(call, err);
    }
  }
}

int FsState::out_of_fds(const Call& call) {
  uint64_t n = fd_refusals_.fetch_add(1, std::memory_order_relaxed) + 1;
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
  int64_t last = fd_logged_s_.load(std::memory_order_relaxed);
  if ((n == 1 || now.tv_sec - last >= 10) &&
      fd_logged_s_.compare_exchange_strong(last, now.tv_sec)) {
    uint64_t before = fd_logged_at_.exchange(n);
    const char* op = opcode_name(call.in->opcode);
    log_warn(
        "out of file descriptors (open-file limit %d, %d kept for requests): %llu files "
        "open through the view; %s and other requests that need one answer ENFILE until "
        "callers close files (%llu refused%s)",
        fd_limit_, fd_limit_ - fd_ceiling_,
        static_cast<unsigned long long>(open_files_.load(std::memory_order_relaxed)),
        op != nullptr ? op : "a request", static_cast<unsigned long long>(n - before),
        before == 0 ? "" : " since the last note");
  }
  return ENFILE;
}

std::string FsState::lower_change(size_t root) const {
  // statfs is never answered from a cache: a FUSE lower whose server is
  // gone (or any lower that fails) shows here, while stat may still
  // answer from cached attributes.
  struct statfs fs {};
  if (::fstatfs(roots_[root].get(), &fs) != 0 && errno != ENOSYS) {
    return std::string("its file system no longer answers (") + std::strerror(errno) +
           "): requests that reach it fail with that error; remount once it is back";
  }
  struct stat held {};
  if (::fstat(roots_[root].get(), &held) == 0 && held.st_nlink == 0) {
    return "removed since the mount: the view shows an empty directory and refuses new names "
           "(ENOENT); remount";
  }
  struct stat now {};
  const auto& [dev, ino] = root_ids_[root];
  if (::stat(root_paths_[root].c_str(), &now) == 0 && now.st_dev == dev && now.st_ino == ino) {
    return "";
  }
  // Where the directory is now, if the daemon's view of the mount table
  // still reaches it (not once its file system was detached).
  std::string where;
  char buf[PATH_MAX];
  ssize_t n = ::readlink(proc_fd_path(roots_[root].get()).c_str(), buf, sizeof buf - 1);
  if (n > 0) {
    buf[n] = 0;
    if (::stat(buf, &now) == 0 && now.st_dev == dev && now.st_ino == ino) {
      where = std::string(", now at ") + buf;
    }
  }
  return "no longer the directory opened at mount (moved, replaced or unmounted" + where +
         "): the view keeps serving the directory it opened";
}

int FsState::run(const Call& call) {
  uint32_t opcode = call.in->opcode;
  // Nothing touches the lower directory before the thread acts as the
  // caller; if it cannot, nothing runs.
  if (runs_as_caller(opcode)) {
    if (int err = act_as_caller(*call.in)) return err;
    if (int err = caller_known(call)) return err;
  }
  // What the audit rules record is read from the request before it runs:
  // a reply may reuse the request's buffer.
  std::vector<AuditRecord> audited;
  if (audit_) audited = audit_records(call);
  int result = engine_->trivial() ? 0 : refused(apply_policy(call));
  if (result == 0) {
    switch (opcode) {
#define FSPOL_FUSE_OP(opcode, name, as_caller) \
  case opcode:                                 \
    result = op_##name(call);                  \
    break;
#include "fuse/fuse_ops.def"
      default:
        result = ENOSYS;
    }
  }
  for (AuditRecord& r : audited) {
    r.error = result;
    audit_->record(std::move(r));
  }
  return result;
}

// ---- helpers --------------------------------------------------------------

int FsState::open_dir_of(Inode* inode, UniqueFd& out) {
  if (inode == inodes_->root()) return roots_[0].get();
  std::string path;
  uint8_t root = 0;
  if (!inodes_->path_of(inode, path, root)) return -ENOENT;
  if (path == ".") return roots_[root].get();
  int fd = open_beneath(roots_[root].get(), path.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW);
  if (fd < 0) return fd;
  out.reset(fd);
  return fd;
}

int FsState::open_parent(Inode* inode, UniqueFd& dirfd, std::string& name) {
  std::string parent;
  uint8_t root = 0;
  if (!inodes_->parent_and_name(inode, parent, name, root)) return -ENOENT;
  if (parent == ".") return roots_[root].get();
  int fd = open_beneath(roots_[root].get(), parent.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW);
  if (fd < 0) return fd;
  dirfd.reset(fd);
  return fd;
}

int FsState::open_node(Inode* inode, int flags, UniqueFd& out) {
  std::string path;
  uint8_t root = 0;
  if (!inodes_->path_of(inode, path, root)) return -ENOENT;
  int fd =
      open_beneath(roots_[root].get(), path.c_str(), static_cast<uint64_t>(flags | O_NOFOLLOW));
  if (fd < 0) return fd;
  out.reset(fd);
  return fd;
}

int FsState::stat_node(Inode* inode, struct stat& st) {
  UniqueFd holder;
  std::string name;
  int dirfd = open_parent(inode, holder, name);
  if (dirfd == -ENOENT && open_handle_fd(inode, holder) >= 0) {
    // Unlinked but open: fstat(2) on a FUSE file sends GETATTR without a
    // handle, so reach the file through one of its open handles.
    return ::fstat(holder.get(), &st) == 0 ? 0 : errno;
  }
  if (dirfd < 0) return -dirfd;
  if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return errno;
  // The name now holds another kind of object (changed behind our back):
  // the kernel must not see a node change type.
  if (inode != inodes_->root() && (st.st_mode & S_IFMT) != inode->type) return ESTALE;
  return 0;
}

// Names and attributes may be cached where no rule deciding about the
// node depends on the caller.
bool FsState::cacheable(const Inode* inode) const {
  return engine_->trivial() || engine_->cache(inode->state).entry;
}

bool FsState::attr_cacheable(const Inode* inode) const {
  return engine_->trivial() || engine_->cache(inode->state).attr;
}

void FsState::fill_attr(fuse_attr& attr, const struct stat& st, const Inode* inode,
                        const Call& call) {
  attr.ino = st.st_ino;
  attr.size = static_cast<uint64_t>(st.st_size);
  attr.blocks = static_cast<uint64_t>(st.st_blocks);
  attr.atime = static_cast<uint64_t>(st.st_atim.tv_sec);
  attr.mtime = static_cast<uint64_t>(st.st_mtim.tv_sec);
  attr.ctime = static_cast<uint64_t>(st.st_ctim.tv_sec);
  attr.atimensec = static_cast<uint32_t>(st.st_atim.tv_nsec);
  attr.mtimensec = static_cast<uint32_t>(st.st_mtim.tv_nsec);
  attr.ctimensec = static_cast<uint32_t>(st.st_ctim.tv_nsec);
  attr.mode = st.st_mode;
  attr.nlink = static_cast<uint32_t>(st.st_nlink);
  attr.uid = st.st_uid;
  attr.gid = st.st_gid;
  attr.rdev = static_cast<uint32_t>(st.st_rdev);
  attr.blksize = static_cast<uint32_t>(st.st_blksize);
  if (engine_->trivial()) return;
  if (inode->handler != 0) {
    // A handled node shows the size of what its readers get, so tools
    // that trust st_size (tail, mmap) see the whole of it.
    std::shared_ptr<const std::string> contents;
    if (handled(const_cast<Inode*>(inode), st, -1, contents) == 0) {
      attr.size = contents->size();
      attr.blocks = (contents->size() + 511) / 512;
    }
  }
  apply_attr_rules(attr, inode, call);
}

void FsState::apply_attr_rules(fuse_attr& attr, const Inode* inode, const Call& call) {
  if (engine_->trivial()) return;
  // A directory's link count is 2 + its subdirectories, hidden ones too:
  // where listings are reshaped it shows 1, "not counted", as on file
  // systems that do not count (find and fts then read every entry).
  if (S_ISDIR(attr.mode) && engine_->reshapes_listings()) attr.nlink = 1;
  Attr a;
  a.mode = attr.mode;
  a.uid = attr.uid;
  a.gid = attr.gid;
  engine_->attr(inode->state, type_bit(attr.mode), caller_of(call), a);
  if (a.mode != attr.mode || a.uid != attr.uid || a.gid != attr.gid || a.atime_set ||
      a.mtime_set || a.ctime_set) {
    rewritten_.fetch_add(1, std::memory_order_relaxed);
  }
  attr.mode = a.mode;
  attr.uid = a.uid;
  attr.gid = a.gid;
  if (a.atime_set) attr.atime = static_cast<uint64_t>(a.atime), attr.atimensec = 0;
  if (a.mtime_set) attr.mtime = static_cast<uint64_t>(a.mtime), attr.mtimensec = 0;
  if (a.ctime_set) attr.ctime = static_cast<uint64_t>(a.ctime), attr.ctimensec = 0;
}

void FsState::fill_entry(fuse_entry_out& out, Inode* inode, const struct stat& st,
                         const Call& call) {
  out.nodeid = inodes_->node_id(inode);
  out.generation = 0;
  if (cacheable(inode)) {
    out.entry_valid = entry_valid_ns_ / 1000000000;
    out.entry_valid_nsec = static_cast<uint32_t>(entry_valid_ns_ % 1000000000);
  }
  if (attr_cacheable(inode)) {
    out.attr_valid = attr_valid_ns_ / 1000000000;
    out.attr_valid_nsec = static_cast<uint32_t>(attr_valid_ns_ % 1000000000);
  }
  fill_attr(out.attr, st, inode, call);
}

int FsState::reply_absent(const Call& call, Inode* parent) {
  if (call.in->opcode != FUSE_LOOKUP || negative_valid_ns_ == 0 || !cacheable(parent))
    return ENOENT;
  // A negative entry: the kernel caches the absence of the name.
  fuse_entry_out out{};
  out.entry_valid = negative_valid_ns_ / 1000000000;
  out.entry_valid_nsec = static_cast<uint32_t>(negative_valid_ns_ % 1000000000);
  reply(call, out);
  return 0;
}

int FsState::reply_entry(const Call& call, Inode* parent, const Place& place) {
  struct stat st{};
  if (::fstatat(place.dirfd, place.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return errno == ENOENT ? reply_absent(call, parent) : errno;
  }
  const NodeState& state = place.state;
  // A hide filtered on the file type applies once the type is known;
  // then the lookup itself may be denied.
  if (call.in->opcode == FUSE_LOOKUP && !engine_->trivial()) {
    Caller caller = caller_of(call);
    uint8_t type = type_bit(st.st_mode);
    if (int err = engine_->lookup_type(state, type, caller)) return refused(err);
    if (int err = engine_->check(state, ir::bit(ir::Op::kLookup), type, caller)) return refused(err);
  }
  Inode* inode =
      inodes_->learn(parent, place.link, st, state, handler_of(state, st, call), place.anchor);
  if (inode == nullptr) {
    log_warn("%s: an object known under too many names the policy treats differently: refused",
             place.link.c_str());
    return EACCES;
  }
  fuse_entry_out out{};
  fill_entry(out, inode, st, call);
  if (filters_ && call.in->opcode == FUSE_LOOKUP && reply_backed(call, out, place, st, inode)) {
    return 0;
  }
  reply(call, out);
  return 0;
}

int FsState::reply_attr(const Call& call, const struct stat& st) {
  fuse_attr_out out{};
  Inode* inode = node(call.in->nodeid);
  if (attr_cacheable(inode)) {
    out.attr_valid = attr_valid_ns_ / 1000000000;
    out.attr_valid_nsec = static_cast<uint32_t>(attr_valid_ns_ % 1000000000);
  }
  fill_attr(out.attr, st, inode, call);
  reply(call, out);
  return 0;
}

// Whether the caller may write the node (an open fd, or dirfd + name).
bool FsState::may_write(int fd, int dirfd, const std::string& name) {
  if (fd >= 0) return ::faccessat(fd, "", W_OK, AT_EACCESS | AT_EMPTY_PATH) == 0;
  return ::faccessat(dirfd, name.c_str(), W_OK, AT_EACCESS | AT_SYMLINK_NOFOLLOW) == 0;
}

// ---- name space -------------------------------------------------------------

int FsState::op_lookup(const Call& call) {
  if (!valid_name(call.arg, call.arglen)) {
    return strnlen(call.arg, call.arglen) > NAME_MAX ? ENAMETOOLONG : ENOENT;
  }
  Inode* parent = node(call.in->nodeid);
  Engine::Lookup l = engine_->lookup(parent->state, call.arg, caller_of(call));
  if (l.error) return refused(l.error);
  Place place;
  if (int err = locate(parent, call.arg, l, 0, place)) {
    return err == ENOENT ? reply_absent(call, parent) : err;
  }
  return reply_entry(call, parent, place);
}

int FsState::op_forget(const Call& call) {
  const auto* in = call.args<fuse_forget_in>();
  if (in != nullptr) inodes_->forget(node(call.in->nodeid), in->nlookup);
  return 0;  // no reply
}

int FsState::op_batch_forget(const Call& call) {
  const auto* in = call.args<fuse_batch_forget_in>();
  if (in == nullptr) return 0;
  const auto* items = reinterpret_cast<const fuse_forget_one*>(call.tail<fuse_batch_forget_in>());
  size_t n = std::min<size_t>(in->count, call.tail_len<fuse_batch_forget_in>() / sizeof *items);
  for (size_t i = 0; i < n; ++i) inodes_->forget(node(items[i].nodeid), items[i].nlookup);
  return 0;
}

int FsState::op_getattr(const Call& call) {
  const auto* in = call.args<fuse_getattr_in>();
  struct stat st{};
  if (in != nullptr && (in->getattr_flags & FUSE_GETATTR_FH)) {
    auto* fh = reinterpret_cast<FileHandle*>(static_cast<uintptr_t>(in->fh));
    if (::fstat(fh->fd.get(), &st) != 0) return errno;
    return reply_attr(call, st);
  }
  if (int err = stat_node(node(call.in->nodeid), st)) return err;
  return reply_attr(call, st);
}

int FsState::lower_setattr_ids(const Inode* inode, const Call& call, fuse_setattr_in& in) const {
  uint32_t uid = in.uid, gid = in.gid;
  if (int err = engine_->lower_ids(inode->state, type_bit(inode->type), caller_of(call),
                                   in.valid & FATTR_UID, uid, in.valid & FATTR_GID, gid)) {
    return err;
  }
  // -1: every lower id shows as the one asked for, so it stays.
  for (auto [bit, asked, lower] : {std::tuple{uint32_t{FATTR_UID}, &in.uid, uid},
                                   std::tuple{uint32_t{FATTR_GID}, &in.gid, gid}}) {
    if (!(in.valid & bit)) continue;
    if (lower == static_cast<uint32_t>(-1)) {
      in.valid &= ~bit;
    } else {
      *asked = lower;
    }
  }
  return 0;
}

int FsState::op_setattr(const Call& call) {
  const auto* in = call.args<fuse_setattr_in>();
  if (in == nullptr) return EINVAL;
  Inode* inode = node(call.in->nodeid);
  // The ids a chown asks for are the view's: the lower ids that show as
  // them (before anything changes, so a refusal changes nothing).
  fuse_setattr_in lowered = *in;
  if (int err = lower_setattr_ids(inode, call, lowered)) return err;
  uid_t uid = (lowered.valid & FATTR_UID) ? lowered.uid : static_cast<uid_t>(-1);
  gid_t gid = (lowered.valid & FATTR_GID) ? lowered.gid : static_cast<gid_t>(-1);
  int fd = -1;
  if ((in->valid & FATTR_FH) && inode->type == S_IFREG) {
    fd = reinterpret_cast<FileHandle*>(static_cast<uintptr_t>(in->fh))->fd.get();
  }
  UniqueFd holder;
  std::string name;
  int dirfd = -1;
  if (fd < 0) {
    dirfd = open_parent(inode, holder, name);
    if (dirfd == -ENOENT && open_handle_fd(inode, holder) >= 0) {
      fd = holder.get();  // unlinked but open
    } else if (dirfd < 0) {
      return -dirfd;
    }
  }
  if (in->valid & FATTR_MODE) {
    int rc = fd >= 0 ? (::fchmod(fd, in->mode & 07777) == 0 ? 0 : -errno)
                     : chmod_nofollow(dirfd, name.c_str(), in->mode & 07777);
    if (rc < 0) return -rc;
  }
  if (in->valid & (FATTR_UID | FATTR_GID)) {
    int rc = fd >= 0 ? ::fchown(fd, uid, gid)
                     : ::fchownat(dirfd, name.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW);
    if (rc != 0) return errno;
  }
  if (in->valid & FATTR_SIZE) {
    UniqueFd wfd;
    int tfd = fd;
    if (tfd < 0) {
      if (inode->type != S_IFREG) return inode->type == S_IFDIR ? EISDIR : EINVAL;
      int r = open_beneath(dirfd, name.c_str(), O_WRONLY | O_NOFOLLOW | O_NONBLOCK);
      if (r < 0) return -r;
      wfd.reset(r);
      tfd = r;
    }
    if (::ftruncate(tfd, static_cast<off_t>(in->size)) != 0) return errno;
    if (in->valid & FATTR_KILL_SUIDGID) kill_suidgid(tfd, *call.in);
  }
  if (in->valid & (FATTR_ATIME | FATTR_MTIME)) {
    timespec ts[2];
    ts[0].tv_nsec = UTIME_OMIT;
    ts[1].tv_nsec = UTIME_OMIT;
    if (in->valid & FATTR_ATIME_NOW) {
      ts[0].tv_nsec = UTIME_NOW;
    } else if (in->valid & FATTR_ATIME) {
      ts[0].tv_sec = static_cast<time_t>(in->atime);
      ts[0].tv_nsec = in->atimensec;
    }
    if (in->valid & FATTR_MTIME_NOW) {
      ts[1].tv_nsec = UTIME_NOW;
    } else if (in->valid & FATTR_MTIME) {
      ts[1].tv_sec = static_cast<time_t>(in->mtime);
      ts[1].tv_nsec = in->mtimensec;
    }
    auto set_times = [&] {
      return fd >= 0 ? ::futimens(fd, ts) : ::utimensat(dirfd, name.c_str(), ts, AT_SYMLINK_NOFOLLOW);
    };
    int rc = set_times() == 0 ? 0 : errno;
    if (rc == EPERM && session_->conn().writeback && may_write(fd, dirfd, name)) {
      // With writeback caching the kernel keeps times itself and sends
      // "now" as an explicit time (after a truncate, a write, a touch),
      // which the lower filesystem allows only the owner. A caller with
      // write access may set times to now: the kernel's bookkeeping, done
      // with the daemon's rights.
      PrivilegedScope daemon;
      rc = set_times() == 0 ? 0 : errno;
    }
    if (rc != 0) return rc;
  }
  struct stat st{};
  if (fd >= 0) {
    if (::fstat(fd, &st) != 0) return errno;
  } else if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return errno;
  }
  return reply_attr(call, st);
}

int FsState::op_readlink(const Call& call) {
  Inode* inode = node(call.in->nodeid);
  if (inode->handler != 0) {
    struct stat st{};
    if (int err = stat_node(inode, st)) return err;
    std::shared_ptr<const std::string> target;
    if (int err = handled(inode, st, -1, target)) return err;
    reply_data(call, target->data(), target->size());
    return 0;
  }
  UniqueFd holder;
  std::string name;
  int dirfd = open_parent(inode, holder, name);
  if (dirfd < 0) return -dirfd;
  char buf[PATH_MAX];
  ssize_t n = ::readlinkat(dirfd, name.c_str(), buf, sizeof buf);
  if (n < 0) return errno;
  reply_data(call, buf, static_cast<size_t>(n));
  return 0;
}

template <typename Make>
int FsState::create_entry(const Call& call, const char* name, uint32_t mode, Make make) {
  Inode* parent = node(call.in->nodeid);
  Place place;
  if (int err = locate(parent, name, type_bit(mode), call, place)) return err;
  if (make(place.dirfd, place.name.c_str()) != 0) return errno;
  return reply_entry(call, parent, place);
}

int FsState::op_symlink(const Call& call) {
  // Arguments: the new name, then the target, both NUL-terminated.
  const char* name = call.arg;
  size_t name_len = strnlen(name, call.arglen);
  if (name_len + 1 >= call.arglen) return EINVAL;
  const char* target = name + name_len + 1;
  if (!valid_name(name, call.arglen)) return EINVAL;
  return create_entry(call, name, S_IFLNK, [&](int dirfd, const char* lower) {
    return ::symlinkat(target, dirfd, lower);
  });
}

int FsState::op_mknod(const Call& call) {
  const auto* in = call.args<fuse_mknod_in>();
  if (in == nullptr) return EINVAL;
  const char* name = call.tail<fuse_mknod_in>();
  if (!valid_name(name, call.tail_len<fuse_mknod_in>())) return EINVAL;
  return create_entry(call, name, in->mode, [&](int dirfd, const char* lower) {
    return ::mknodat(dirfd, lower, in->mode, in->rdev);
  });
}

int FsState::op_mkdir(const Call& call) {
  const auto* in = call.args<fuse_mkdir_in>();
  if (in == nullptr) return EINVAL;
  const char* name = call.tail<fuse_mkdir_in>();
  if (!valid_name(name, call.tail_len<fuse_mkdir_in>())) return EINVAL;
  return create_entry(call, name, S_IFDIR, [&](int dirfd, const char* lower) {
    return ::mkdirat(dirfd, lower, in->mode & 07777);
  });
}

int FsState::remove_entry(const Call& call, int unlink_flags) {
  if (!valid_name(call.arg, call.arglen)) return EINVAL;
  Inode* parent = node(call.in->nodeid);
  Place place;
  if (int err = locate(parent, call.arg, 0, call, place)) return err;
  struct stat st{};
  if (::fstatat(place.dirfd, place.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return errno;
  if (::unlinkat(place.dirfd, place.name.c_str(), unlink_flags) != 0) return errno;
  inodes_->drop_link(parent, place.link, st.st_dev, st.st_ino);
  reply_data(call, nullptr, 0);
  return 0;
}

int FsState::op_unlink(const Call& call) { return remove_entry(call, 0); }
int FsState::op_rmdir(const Call& call) { return remove_entry(call, AT_REMOVEDIR); }

int FsState::do_rename(const Call& call, uint64_t newdir, uint32_t flags, const char* names,
                       size_t len) {
  size_t old_len = strnlen(names, len);
  if (old_len + 1 >= len) return EINVAL;
  if (!valid_name(names, len) || !valid_name(names + old_len + 1, len - old_len - 1)) return EINVAL;
  Inode* op = node(call.in->nodeid);
  Inode* np = node(newdir);
  Place from, to;
  if (int err = locate(op, names, 0, call, from)) return err;
  struct stat ost{}, nst{};
  if (::fstatat(from.dirfd, from.name.c_str(), &ost, AT_SYMLINK_NOFOLLOW) != 0) return errno;
  if (int err = locate(np, names + old_len + 1, type_bit(ost.st_mode), call, to)) return err;
  // Each lower root keeps its own objects: a rename between two is one
  // across file systems.
  if ((from.anchor ? from.anchor->root : root_of(op)) !=
      (to.anchor ? to.anchor->root : root_of(np))) {
    return EXDEV;
  }
  bool had_target = ::fstatat(to.dirfd, to.name.c_str(), &nst, AT_SYMLINK_NOFOLLOW) == 0;
  if (::renameat2(from.dirfd, from.name.c_str(), to.dirfd, to.name.c_str(), flags) != 0)
    return errno;
  inodes_->move_link(op, from.link, np, to.link, ost.st_dev, ost.st_ino,
                     (flags & RENAME_EXCHANGE) != 0, had_target, nst.st_dev, nst.st_ino, to.anchor,
                     from.anchor);
  reply_data(call, nullptr, 0);
  return 0;
}

int FsState::op_rename(const Call& call) {
  const auto* in = call.args<fuse_rename_in>();
  if (in == nullptr) return EINVAL;
  return do_rename(call, in->newdir, 0, call.tail<fuse_rename_in>(),
                   call.tail_len<fuse_rename_in>());
}

int FsState::op_rename2(const Call& call) {
  const auto* in = call.args<fuse_rename2_in>();
  if (in == nullptr) return EINVAL;
  if (in->flags & ~static_cast<uint32_t>(RENAME_NOREPLACE | RENAME_EXCHANGE)) return EINVAL;
  return do_rename(call, in->newdir, in->flags, call.tail<fuse_rename2_in>(),
                   call.tail_len<fuse_rename2_in>());
}

int FsState::op_link(const Call& call) {
  const auto* in = call.args<fuse_link_in>();
  if (in == nullptr) return EINVAL;
  const char* newname = call.tail<fuse_link_in>();
  if (!valid_name(newname, call.tail_len<fuse_link_in>())) return EINVAL;
  Inode* target = link_source(in->oldnodeid);
  Inode* parent = node(call.in->nodeid);
  UniqueFd oh;
  std::string oldname;
  int odir = open_parent(target, oh, oldname);
  if (odir < 0) return -odir;
  Place place;
  if (int err = locate(parent, newname, type_bit(target->type), call, place)) return err;
  if (root_of(target) != (place.anchor ? place.anchor->root : root_of(parent))) return EXDEV;
  if (::linkat(odir, oldname.c_str(), place.dirfd, place.name.c_str(), 0) != 0) return errno;
  return reply_entry(call, parent, place);
}

}  // namespace fspol::runtime
