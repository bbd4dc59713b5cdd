// fuse-bpf mode: the daemon's side of the filters (docs/runtime.md,
// "fuse-bpf mode"). The kernel runs the policy's programs; what the plan
// leaves to the daemon arrives as FUSE_PREFILTER requests (the operation's
// inputs: the daemon decides, the kernel then does the operation on the
// lower file) and FUSE_POSTFILTER requests (inputs, the outputs of the
// lower operation and its error: the daemon records, rewrites listings and
// learns nodes). Each is decided by the same code as in daemon mode: the
// inputs are laid out as the ordinary request's, so the filter runs the
// ordinary request's checks (apply_policy) on them.
#include <fcntl.h>
#include <linux/fuse.h>
#include <linux/limits.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <vector>

#include "fuse/credentials.h"
#include "fuse/fs.h"
#include "fuse_bpf_abi.h"
#include "log.h"

namespace fspol::runtime {
namespace {

// How an operation's inputs reach the daemon's filters (the kernel tier's
// fs/fuse/backing.c): a fixed-size argument, then NUL-terminated names.
// A prefilter's reply gives back every input but the names of entries,
// which the kernel does not let filters rewrite.
enum class Echo : uint8_t {
  kAll,        // every input
  kFixed,      // the fixed-size argument (the names are immutable)
  kNothing,    // unlink, rmdir: the name only, immutable
  kAfterName,  // symlink: the target after the immutable name
  kXattrSet,   // setxattr: the name takes its buffer's whole room
};

struct Layout {
  uint32_t opcode;
  uint32_t fixed;
  uint8_t names;  // NUL-terminated names after the fixed part
  Echo echo;
  bool outputs;  // whether a postfilter request carries outputs
};

constexpr Layout kLayouts[] = {
    {FUSE_LOOKUP, 0, 1, Echo::kAll, true},
    {FUSE_GETATTR, sizeof(fuse_getattr_in), 0, Echo::kAll, true},
    {FUSE_SETATTR, sizeof(fuse_setattr_in), 0, Echo::kAll, true},
    {FUSE_STATFS, 0, 0, Echo::kAll, true},
    {FUSE_ACCESS, sizeof(fuse_access_in), 0, Echo::kAll, false},
    {FUSE_OPEN, sizeof(fuse_open_in), 0, Echo::kAll, true},
    {FUSE_OPENDIR, sizeof(fuse_open_in), 0, Echo::kAll, true},
    {FUSE_RELEASE, sizeof(fuse_release_in), 0, Echo::kAll, false},
    {FUSE_RELEASEDIR, sizeof(fuse_release_in), 0, Echo::kAll, false},
    {FUSE_FLUSH, sizeof(fuse_flush_in), 0, Echo::kAll, false},
    {FUSE_FSYNC, sizeof(fuse_fsync_in), 0, Echo::kAll, false},
    {FUSE_FSYNCDIR, sizeof(fuse_fsync_in), 0, Echo::kAll, false},
    {FUSE_READ, sizeof(fuse_read_in), 0, Echo::kAll, true},
    {FUSE_WRITE, sizeof(fuse_write_in), 0, Echo::kAll, true},
    {FUSE_LSEEK, sizeof(fuse_lseek_in), 0, Echo::kAll, true},
    {FUSE_FALLOCATE, sizeof(fuse_fallocate_in), 0, Echo::kAll, false},
    {FUSE_COPY_FILE_RANGE, sizeof(fuse_copy_file_range_in), 0, Echo::kAll, true},
    {FUSE_READDIR, sizeof(fuse_read_in), 0, Echo::kAll, true},
    {FUSE_MKNOD, sizeof(fuse_mknod_in), 1, Echo::kFixed, false},
    {FUSE_MKDIR, sizeof(fuse_mkdir_in), 1, Echo::kFixed, false},
    {FUSE_SYMLINK, 0, 1, Echo::kAfterName, false},
    {FUSE_LINK, sizeof(fuse_link_in), 1, Echo::kFixed, false},
    {FUSE_CREATE, sizeof(fuse_create_in), 1, Echo::kFixed, true},
    {FUSE_UNLINK, 0, 1, Echo::kNothing, false},
    {FUSE_RMDIR, 0, 1, Echo::kNothing, false},
    {FUSE_RENAME, sizeof(fuse_rename_in), 2, Echo::kFixed, false},
    {FUSE_RENAME2, sizeof(fuse_rename2_in), 2, Echo::kFixed, false},
    {FUSE_READLINK, 0, 0, Echo::kAll, false},
    {FUSE_GETXATTR, sizeof(fuse_getxattr_in), 1, Echo::kAll, true},
    {FUSE_LISTXATTR, sizeof(fuse_getxattr_in), 0, Echo::kAll, true},
    {FUSE_SETXATTR, sizeof(fuse_setxattr_in), 0, Echo::kXattrSet, false},
    {FUSE_REMOVEXATTR, 0, 0, Echo::kAll, false},
};

const Layout* layout_of(uint32_t opcode) {
  for (const Layout& l : kLayouts) {
    if (l.opcode == opcode) return &l;
  }
  return nullptr;
}

// The length of the inputs of `l` at the start of `arg`, or -1 when they
// do not fit.
long inputs_length(const Layout& l, const char* arg, size_t len) {
  if (len < l.fixed) return -1;
  size_t at = l.fixed;
  for (uint8_t i = 0; i < l.names; ++i) {
    size_t n = strnlen(arg + at, len - at);
    if (n == len - at) return -1;
    at += n + 1;
  }
  return static_cast<long>(at);
}

// The error_in extension that ends a postfilter request (16 bytes).
struct ErrorIn {
  uint32_t size;  // struct fuse_ext_header
  uint32_t type;
  int32_t error;
  uint32_t padding;
};

// The room of a listing chunk (the kernel tier reads a page at a time).
constexpr size_t kListingRoom = 4096;

void warn_once(const char* what, uint32_t opcode) {
  static std::atomic<int> warned{0};
  if (warned.fetch_add(1) < 10) log_warn("fuse-bpf: %s (opcode %u): refused", what, opcode);
}

// A reply that carries fuse_bpf_entry_out records must come through the
// ioctl (a write(2) of it fails): header, then `parts`. False when the
// kernel did not take it (the request is answered EIO instead): the node
// it names is not the kernel's.
bool reply_with_entries(const Call& call,
                        std::initializer_list<std::pair<const void*, size_t>> parts) {
  char buf[4096];
  fuse_out_header out{};
  out.unique = call.in->unique;
  size_t used = sizeof out;
  for (const auto& [data, size] : parts) {
    if (used + size > sizeof buf) {  // the kernel's entries fit a page by far
      reply_error(call, EIO);
      return false;
    }
    std::memcpy(buf + used, data, size);
    used += size;
  }
  out.len = static_cast<uint32_t>(used);
  std::memcpy(buf, &out, sizeof out);
  unsigned long cmd = _IOC(_IOC_WRITE, 229, FUSE_DEV_IOC_BPF_RESPONSE_NR, used);
  if (::ioctl(call.fd, cmd, buf) < 0 && errno != ENOENT) {
    log_warn("fuse-bpf: lookup answer for request %llu refused by the kernel: %s",
             static_cast<unsigned long long>(call.in->unique), std::strerror(errno));
    // The request must not wait for ever (if the kernel ended it, this
    // answer finds nothing to answer).
    reply_error(call, EIO);
    return false;
  }
  return true;
}

}  // namespace

bool FsState::ids_known(const Call& call) const {
  auto known = [](uint64_t id) { return (id & FUSE_BPF_NODEID_BASE) == 0; };
  uint32_t opcode = call.in->opcode & FUSE_OPCODE_FILTER;
  if (!known(call.in->nodeid) && call.in->nodeid != 0) return false;
  switch (opcode) {
    case FUSE_RENAME:
      if (const auto* in = call.args<fuse_rename_in>()) return known(in->newdir);
      return true;
    case FUSE_RENAME2:
      if (const auto* in = call.args<fuse_rename2_in>()) return known(in->newdir);
      return true;
    case FUSE_LINK:
      if (const auto* in = call.args<fuse_link_in>())
        return known(in->oldnodeid) || link_source_learnt(in->oldnodeid);
      return true;
    case FUSE_COPY_FILE_RANGE:
      if (const auto* in = call.args<fuse_copy_file_range_in>()) return known(in->nodeid_out);
      return true;
    default:
      return true;
  }
}

bool FsState::handles_known(const Call& call) const {
  // The daemon's handles are addresses, never 0; a file the kernel opened
  // itself has the handle 0 (the generated programs set none).
  uint64_t fh = 1;
  switch (call.in->opcode) {
    case FUSE_READ:
    case FUSE_READDIR:
    case FUSE_READDIRPLUS:
      if (const auto* in = call.args<fuse_read_in>()) fh = in->fh;
      break;
    case FUSE_WRITE:
      if (const auto* in = call.args<fuse_write_in>()) fh = in->fh;
      break;
    case FUSE_RELEASE:
    case FUSE_RELEASEDIR:
      if (const auto* in = call.args<fuse_release_in>()) fh = in->fh;
      break;
    case FUSE_FLUSH:
      if (const auto* in = call.args<fuse_flush_in>()) fh = in->fh;
      break;
    case FUSE_FSYNC:
    case FUSE_FSYNCDIR:
      if (const auto* in = call.args<fuse_fsync_in>()) fh = in->fh;
      break;
    case FUSE_LSEEK:
      if (const auto* in = call.args<fuse_lseek_in>()) fh = in->fh;
      break;
    case FUSE_FALLOCATE:
      if (const auto* in = call.args<fuse_fallocate_in>()) fh = in->fh;
      break;
    case FUSE_GETLK:
    case FUSE_SETLK:
    case FUSE_SETLKW:
      if (const auto* in = call.args<fuse_lk_in>()) fh = in->fh;
      break;
    case FUSE_COPY_FILE_RANGE:
      if (const auto* in = call.args<fuse_copy_file_range_in>()) fh = in->fh_in && in->fh_out;
      break;
    case FUSE_SETATTR:
      if (const auto* in = call.args<fuse_setattr_in>(); in && (in->valid & FATTR_FH)) fh = in->fh;
      break;
    case FUSE_GETATTR:
      if (const auto* in = call.args<fuse_getattr_in>();
          in && (in->getattr_flags & FUSE_GETATTR_FH))
        fh = in->fh;
      break;
    default:
      break;
  }
  return fh != 0;
}

void FsState::forget_made(const Call& call) {
  uint32_t opcode = call.in->opcode;
  if (opcode != FUSE_MKDIR && opcode != FUSE_MKNOD && opcode != FUSE_CREATE &&
      opcode != FUSE_SYMLINK) {
    return;
  }
  // The name follows the fixed argument, as in the filters' inputs.
  size_t head = layout_of(opcode)->fixed;
  if (head >= call.arglen || session_ == nullptr) return;
  const char* name = call.arg + head;
  size_t len = strnlen(name, call.arglen - head);
  if (len == call.arglen - head) return;
  // The kernel holds the directory's lock until the request is done, which
  // may take another answer of this worker's: the notification waits for
  // the lock on a thread of its own.
  session_->notify_inval_entry_later(call.in->nodeid, std::string_view(name, len));
}

int FsState::unknown_node(const Call& call) const {
  uint32_t opcode = call.in->opcode & FUSE_OPCODE_FILTER;
  if (opcode == FUSE_RENAME || opcode == FUSE_RENAME2 || opcode == FUSE_LINK ||
      opcode == FUSE_COPY_FILE_RANGE) {
    return EXDEV;
  }
  warn_once("a request on a node or handle the daemon was never told about", opcode);
  return EIO;
}

int FsState::filter(const Call& call) {
  uint32_t opcode = call.in->opcode & FUSE_OPCODE_FILTER;
  uint32_t stage = call.in->opcode & ~FUSE_OPCODE_FILTER;
  // The kernel sets one of the two bits; anything else is no request of its.
  if (stage != FUSE_PREFILTER && stage != FUSE_POSTFILTER) return ENOSYS;
  bool post = stage == FUSE_POSTFILTER;
  if (opcode < pre_counters_.size()) {
    (post ? post_counters_ : pre_counters_)[opcode].fetch_add(1, std::memory_order_relaxed);
  }
  const Layout* l = layout_of(opcode);
  if (l == nullptr) {
    warn_once("a filter request for an operation the daemon does not decide", opcode);
    return EIO;
  }
  // A node the kernel made without telling the daemon: nothing the daemon
  // knows decides about it. A rename or link there crosses into such a
  // subtree: EXDEV lets mv and cp -l fall back to copies, checked anew.
  if (!ids_known(call)) return unknown_node(call);
  if (call.in->nodeid == 0) return EIO;
  if (int err = act_as_caller(*call.in)) return err;
  if (int err = caller_known(call)) return err;
  // The inputs, as the ordinary request would carry them.
  size_t arglen = call.arglen;
  int32_t error_in = 0;
  if (post) {
    if (arglen < sizeof(ErrorIn)) return EIO;
    ErrorIn ext;
    std::memcpy(&ext, call.arg + arglen - sizeof ext, sizeof ext);
    if (ext.type != FUSE_ERROR_IN || ext.size != sizeof ext) return EIO;
    error_in = ext.error;
    arglen -= sizeof ext;
  }
  long in_len =
      l->outputs || !post ? inputs_length(*l, call.arg, arglen) : static_cast<long>(arglen);
  if (in_len < 0) return EIO;
  fuse_in_header header = *call.in;
  header.opcode = opcode;
  header.len = static_cast<uint32_t>(sizeof header + static_cast<size_t>(in_len));
  Call plain = call;
  plain.in = &header;
  plain.arglen = post ? static_cast<size_t>(in_len) : arglen;
  if (!post) return prefilter(call, plain);
  return postfilter(call, plain, call.arg + in_len, arglen - static_cast<size_t>(in_len), error_in);
}

int FsState::prefilter(const Call& call, const Call& plain) {
  uint32_t opcode = plain.in->opcode;
  if (opcode == FUSE_LOOKUP) {
    Engine::Lookup l = engine_->lookup(node(plain.in->nodeid)->state, plain.arg, caller_of(plain));
    if (l.error) return refused(l.error);
  }
  if (int err = refused(apply_policy(plain))) return err;
  const Layout* l = layout_of(opcode);
  const char* echo = plain.arg;
  size_t len = plain.arglen;
  switch (l->echo) {
    case Echo::kAll:
      break;
    case Echo::kFixed:
      len = l->fixed;
      break;
    case Echo::kNothing:
      len = 0;
      break;
    case Echo::kAfterName: {
      size_t n = strnlen(plain.arg, plain.arglen);
      echo = plain.arg + std::min(n + 1, plain.arglen);
      len = plain.arglen - static_cast<size_t>(echo - plain.arg);
      break;
    }
    case Echo::kXattrSet: {
      // Every rewritable buffer but the last is answered at its full room
      // (XATTR_NAME_MAX + 1 for the name).
      size_t at = l->fixed;
      if (at > plain.arglen) return EIO;
      size_t n = strnlen(plain.arg + at, plain.arglen - at);
      if (n == plain.arglen - at || n > XATTR_NAME_MAX) return EIO;
      thread_local std::vector<char> out;
      out.assign(at + XATTR_NAME_MAX + 1, 0);
      std::memcpy(out.data(), plain.arg, at + n);
      out.insert(out.end(), plain.arg + at + n + 1, plain.arg + plain.arglen);
      reply_data(call, out.data(), out.size());
      return 0;
    }
  }
  if (opcode == FUSE_SETATTR && len == sizeof(fuse_setattr_in)) {
    // A chown asks for the ids the view shows: the kernel goes ahead with
    // the lower ones (as op_setattr does in daemon mode).
    fuse_setattr_in in;
    std::memcpy(&in, echo, sizeof in);
    if (int err = lower_setattr_ids(node(plain.in->nodeid), plain, in)) return refused(err);
    reply(call, in);
    return 0;
  }
  reply_data(call, echo, len);
  return 0;
}

int FsState::postfilter(const Call& call, const Call& plain, const char* outputs,
                        size_t outputs_len, int32_t error_in) {
  if (audit_) {
    for (AuditRecord& r : audit_records(plain)) {
      r.error = -error_in;
      audit_->record(std::move(r));
    }
  }
  uint32_t opcode = plain.in->opcode;
  if (error_in == 0 && opcode == FUSE_LOOKUP)
    return track_lookup(call, plain, outputs, outputs_len);
  if (error_in == 0 && opcode == FUSE_READDIR) return filter_listing(call, outputs, outputs_len);
  if (error_in == 0 && (opcode == FUSE_GETATTR || opcode == FUSE_SETATTR) &&
      outputs_len == sizeof(fuse_attr_out)) {
    fuse_attr_out out;
    std::memcpy(&out, outputs, sizeof out);
    apply_attr_rules(out.attr, node(plain.in->nodeid), plain);
    reply(call, out);
    return 0;
  }
  // Nothing to change: the outputs as they are (the error stays the
  // operation's result).
  reply_data(call, outputs, outputs_len);
  return 0;
}

int FsState::track_lookup(const Call& call, const Call& plain, const char* outputs,
                          size_t outputs_len) {
  if (outputs_len < sizeof(fuse_entry_out)) return EIO;
  Inode* parent = node(plain.in->nodeid);
  Caller caller = caller_of(plain);
  Engine::Lookup l = engine_->lookup(parent->state, plain.arg, caller);
  if (l.error) return refused(l.error);
  Place place;
  if (int err = locate(parent, plain.arg, l, 0, place)) return err;
  struct stat st {};
  if (::fstatat(place.dirfd, place.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return errno;
  uint8_t type = type_bit(st.st_mode);
  if (int err = engine_->lookup_type(place.state, type, caller)) return refused(err);
  if (int err = engine_->check(place.state, ir::bit(ir::Op::kLookup), type, caller))
    return refused(err);
  Inode* inode = inodes_->learn(parent, place.link, st, place.state,
                                handler_of(place.state, st, plain), place.anchor);
  if (inode == nullptr) return EACCES;
  fuse_entry_out out;
  std::memcpy(&out, outputs, sizeof out);
  fill_entry(out, inode, st, plain);
  size_t entries = outputs_len - sizeof out;
  if (entries == 0) {
    reply(call, out);
  } else {
    if (!reply_with_entries(call, {{&out, sizeof out}, {outputs + sizeof out, entries}}))
      inodes_->forget(inode, 1);
  }
  return 0;
}

const KernelSet* FsState::kernel_set_of(const NodeState& state, uint8_t type) const {
  std::vector<uint32_t> above;
  for (size_t bit = 0; bit < 64; ++bit) {
    if (state.hidden_above & (uint64_t{1} << bit)) above.push_back(engine_->ancestor_hides()[bit]);
  }
  std::sort(above.begin(), above.end());
  const KernelSet* set = nullptr;
  for (const KernelSet& k : kernel_sets_) {
    if (k.cls == state.cls && (k.types & type) && k.hidden_above == above) set = &k;
  }
  return set;
}

bool FsState::reply_backed(const Call& call, fuse_entry_out& out, const Place& place,
                           const struct stat& st, Inode* inode) {
  if (!(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) || inode->handler != 0) return false;
  const KernelSet* set = kernel_set_of(place.state, type_bit(st.st_mode));
  if (set == nullptr) return false;
  // Opened as the caller (a file it may not read stays the daemon's), not
  // O_PATH (the kernel takes the fd with fget()).
  int flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | (S_ISDIR(st.st_mode) ? O_DIRECTORY : O_NONBLOCK);
  UniqueFd fd(::openat(place.dirfd, place.name.c_str(), flags));
  struct stat opened {};
  if (fd.get() < 0 || ::fstat(fd.get(), &opened) != 0 || opened.st_dev != st.st_dev ||
      opened.st_ino != st.st_ino) {
    return false;
  }
  fuse_bpf_entry_out entries[2] = {};
  if (set->name.empty()) {
    entries[0].entry_type = FUSE_ENTRY_REMOVE_BPF;
  } else {
    entries[0].entry_type = FUSE_ENTRY_BPF;
    entries[0].state = set->state;
    std::memcpy(entries[0].name, set->name.data(),
                std::min(set->name.size(), sizeof entries[0].name - 1));
  }
  entries[1].entry_type = FUSE_ENTRY_BACKING;
  entries[1].fd = static_cast<uint64_t>(fd.get());
  if (!reply_with_entries(call, {{&out, sizeof out}, {entries, sizeof entries}}))
    inodes_->forget(inode, 1);
  return true;
}

int FsState::filter_listing(const Call& call, const char* outputs, size_t outputs_len) {
  if (outputs_len < sizeof(fuse_read_out)) return EIO;
  fuse_read_out out;
  std::memcpy(&out, outputs, sizeof out);
  const char* in = outputs + sizeof out;
  size_t len = outputs_len - sizeof out;
  Inode* dir = node(call.in->nodeid);
  if (engine_->lists_as_is(dir->state)) {
    reply_data(call, outputs, outputs_len);
    return 0;
  }
  UniqueFd holder;
  int dirfd = open_dir_of(dir, holder);
  if (dirfd < 0) return -dirfd;
  thread_local std::vector<char> kept;
  kept.assign(sizeof out, 0);
  size_t seen = 0;
  bool full = false;
  for (size_t at = 0; at + FUSE_NAME_OFFSET <= len;) {
    fuse_dirent d;
    std::memcpy(&d, in + at, FUSE_NAME_OFFSET);
    size_t reclen = FUSE_DIRENT_ALIGN(FUSE_NAME_OFFSET + d.namelen);
    if (d.namelen == 0 || d.namelen > NAME_MAX || at + reclen > len) break;
    std::string name(in + at + FUSE_NAME_OFFSET, d.namelen);
    at += reclen;
    ++seen;
    std::string view;
    if (!listed(dir, dirfd, static_cast<unsigned char>(d.type), name.c_str(), call, view)) continue;
    size_t out_reclen = FUSE_DIRENT_ALIGN(FUSE_NAME_OFFSET + view.size());
    // A view name longer than its lower one may not fit the kernel's page:
    // it resumes after the last entry it got.
    if (kept.size() - sizeof out + out_reclen > kListingRoom) {
      full = true;
      break;
    }
    d.namelen = static_cast<uint32_t>(view.size());
    size_t base = kept.size();
    kept.resize(base + out_reclen, 0);
    std::memcpy(kept.data() + base, &d, FUSE_NAME_OFFSET);
    std::memcpy(kept.data() + base + FUSE_NAME_OFFSET, view.data(), view.size());
  }
  // Every entry of a chunk hidden: the kernel would take the empty answer
  // for the end of the directory, so ask it to read on.
  if (kept.size() == sizeof out && seen != 0 && !full) out.again = 1;
  std::memcpy(kept.data(), &out, sizeof out);
  reply_data(call, kept.data(), kept.size());
  return 0;
}

}  // namespace fspol::runtime
