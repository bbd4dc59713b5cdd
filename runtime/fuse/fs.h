#pragma once
// FsState: the stacked file system behind one mount, in daemon mode.
//
// One handler per FUSE opcode (fuse_ops.def). A handler returns 0 when it
// has replied, or a positive errno that dispatch() turns into the one
// error reply; handlers never throw (dispatch catches bad_alloc and answers
// ENOMEM). Before a handler runs, dispatch() has the engine seam
// (policy/engine.h) check the request (ops_policy.cc); replies carry the
// engine's attributes and cache answers.

#include <pthread.h>
#include <sys/stat.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "fspol/runtime/options.h"
#include "fuse/dir_handle.h"
#include "fuse/handled.h"
#include "fuse/inode_table.h"
#include "fuse/lower.h"
#include "fuse/session.h"
#include "policy/audit.h"
#include "policy/engine.h"

namespace fspol::runtime {

struct Policy;

// The policy's file-type bit of an S_IFMT mode.
uint8_t type_bit(uint32_t mode);

// FSYNC and FSYNCDIR: fsync or fdatasync of an open lower fd, then the
// reply; 0 or an errno.
int sync_and_reply(const Call& call, int fd, uint32_t fsync_flags);

// Clears the set-ID bits an unprivileged write by `caller` takes away from
// an open lower file (FUSE_HANDLE_KILLPRIV_V2).
void kill_suidgid(int fd, const fuse_in_header& caller);

// Where a name of the view is on the lower side (FsState::locate).
struct Place {
  UniqueFd holder;
  int dirfd = -1;    // the lower directory holding it
  std::string name;  // its name in dirfd
  std::string link;  // the name the inode's link records (its lower name in the view's directory)
  std::optional<Anchor> anchor;  // set where a redirect starts
  NodeState state;               // the name's state, `placed` included
};

// An open regular file.
struct FileHandle {
  UniqueFd fd;
  Inode* inode = nullptr;
  bool passthrough = false;
  // What a handler serves to this open (a handled node's reads), or null.
  std::shared_ptr<const std::string> contents;
  FileHandle* next = nullptr;  // Inode::handles list, under the open lock
  FileHandle* prev = nullptr;
};

// fuse-bpf mode: a program set of the plan, as registered for this mount:
// the node state it serves (plan::ProgramSet) and its registered name
// (empty: plain passthrough, no programs).
struct KernelSet {
  uint32_t cls = 0;
  std::vector<uint32_t> hidden_above;  // rule ids, sorted
  uint8_t types = 0;
  std::string name;
  uint32_t state = 0;  // the node state its filters see (profile node_states)
};

class FsState {
 public:
  FsState(const MountOptions& options, const Policy* policy);
  ~FsState();
  FsState(const FsState&) = delete;
  FsState& operator=(const FsState&) = delete;

  // Opens the lower roots: the main one and those the policy declares
  // (`lower NAME = "PATH"`, or -o lower.NAME=PATH). Must succeed before
  // mounting.
  Result<void> open_lower();
  // The lower roots open_lower() opened, main first: name, path as given,
  // and the O_PATH fd (owned by this FsState).
  struct Root {
    std::string name;
    std::string path;
    int fd;
  };
  std::vector<Root> roots() const;
  void attach(Session* session) { session_ = session; }
  // fuse-bpf mode: the kernel runs the policy's programs and sends the
  // daemon FUSE_PREFILTER / FUSE_POSTFILTER requests (filters.cc) besides
  // the ordinary ones its programs leave to it.
  void serve_filters(std::vector<KernelSet> sets) {
    filters_ = true;
    kernel_sets_ = std::move(sets);
  }
  bool serves_filters() const { return filters_; }

  void dispatch(const Call& call) noexcept;

  // The policy serving now (the mount's, or the last one reloaded).
  const Policy& policy() const { return *policy_; }
  // `fsrun reload` (reload.cc): swaps in `next` between requests, gives
  // every node the kernel holds its state under it, and invalidates what
  // the kernel cached. Returns the report, or an Error (the old policy
  // keeps serving): a policy whose redirect or handle rules differ from
  // the old one's, requests that do not finish within 5 s.
  // fuse-bpf mode: `kernel_sets` are the new policy's program sets, already
  // registered: the daemon's answers name them from then on, and
  // reassign_kernel_sets() gives them to the nodes the kernel holds.
  Result<std::string> reload(std::shared_ptr<const Policy> next,
                             std::vector<KernelSet> kernel_sets = {});
  // After a reload in fuse-bpf mode: every node the kernel holds gets the
  // set of its state under the new policy, or fails from then on
  // (reassign.cc). Once it succeeded no operation runs an old set.
  Result<std::string> reassign_kernel_sets();

  // Counters for `fsrun status`.
  uint64_t count(uint32_t opcode) const {
    return opcode < counters_.size() ? counters_[opcode].load(std::memory_order_relaxed) : 0;
  }
  uint64_t errors() const { return errors_.load(std::memory_order_relaxed); }
  // fuse-bpf mode: the filter requests answered, by the plain opcode.
  uint64_t filter_count(uint32_t opcode, bool post) const {
    const auto& c = post ? post_counters_ : pre_counters_;
    return opcode < c.size() ? c[opcode].load(std::memory_order_relaxed) : 0;
  }
  // What the policy did: requests refused as hidden (ENOENT) and with
  // another errno, replies whose attributes it rewrote, contents served
  // by handlers, lower names listings left out for want of a view name.
  struct PolicyCounts {
    uint64_t hidden, denied, rewritten, handled, unnamed;
  };
  PolicyCounts policy_counts() const {
    auto get = [](const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); };
    return {get(hidden_), get(denied_), get(rewritten_), get(handled_count_), get(unnamed_)};
  }
  size_t inode_count() { return inodes_ ? inodes_->size() : 0; }
  size_t path_classes() const { return engine_->trivial() ? 1 : engine_->policy().classes.size(); }
  uint64_t open_files() const { return open_files_.load(std::memory_order_relaxed); }
  // Requests answered ENFILE for want of a file descriptor (below), and
  // the daemon's open-file limit.
  uint64_t fd_refusals() const { return fd_refusals_.load(std::memory_order_relaxed); }
  int fd_limit() const { return fd_limit_; }
  // What became of lower root `root` (0: main) since the mount, for
  // `fsrun status` and the log: "" while its path still names the
  // directory the daemon opened, else what happened (removed; moved,
  // replaced or unmounted, and where it is now). The view keeps serving
  // the directory it opened, as a bind mount does.
  std::string lower_change(size_t root) const;
  size_t lower_roots() const { return roots_.size(); }
  const std::string& lower_path(size_t root) const { return root_paths_[root]; }
  uint64_t passthrough_opens() const { return passthrough_opens_.load(); }
  uint64_t readahead_chunks() const { return readahead_.chunks(); }
  const AuditLog* audit_log() const { return audit_.get(); }
  const MountOptions& options() const { return options_; }
  // No decision of the policy depends on who asks.
  bool answers_same_for_every_caller() const {
    return engine_->trivial() || engine_->caller_independent();
  }

  static const char* opcode_name(uint32_t opcode);

 private:
#define FSPOL_FUSE_OP(opcode, name, as_caller) int op_##name(const Call& call);
#include "fuse/fuse_ops.def"

  // Takes the caller's credentials, asks the policy, runs the handler.
  int run(const Call& call);
  // Descriptors (docs/runtime.md, "Faults"). Files and directories that
  // callers hold open keep a lower descriptor each; they may fill the
  // daemon's table only below fd_ceiling_. The rest is kept for the
  // descriptors every request takes for a moment (paths resolved, /proc
  // read for the caller's groups and name, directories scanned), so a view
  // whose callers hold as many files as they can still decides every
  // request as the policy says. `lowest_free`: a descriptor just opened
  // (the kernel hands out the lowest free one). 0, or ENFILE.
  int fd_room(int lowest_free) const { return lowest_free >= fd_ceiling_ ? ENFILE : 0; }
  // A request answered ENFILE or EMFILE: counted, and logged at most every
  // 10 s. Returns ENFILE: to the caller, the daemon's table is one beyond
  // its own process, as the system's is.
  int out_of_fds(const Call& call);
  // Counts a refusal by the policy (0 passes); returns `err`.
  int refused(int err) {
    if (err != 0) (err == ENOENT ? hidden_ : denied_).fetch_add(1, std::memory_order_relaxed);
    return err;
  }
  // The policy's part (ops_policy.cc): 0 or the errno that ends the request.
  int apply_policy(const Call& call);
  // fuse-bpf mode (filters.cc): a FUSE_PREFILTER or FUSE_POSTFILTER
  // request; 0 once answered, or the errno that ends the operation.
  int filter(const Call& call);
  int prefilter(const Call& call, const Call& plain);
  int postfilter(const Call& call, const Call& plain, const char* outputs, size_t outputs_len,
                 int32_t error_in);
  // A lookup the kernel made in a backed directory whose child the daemon
  // must know: the daemon's own lookup gives it a node id.
  int track_lookup(const Call& call, const Call& plain, const char* outputs, size_t outputs_len);
  // fuse-bpf mode: answers a lookup the daemon served with the node backed
  // by its lower file and run by its own program set, so that the kernel
  // serves it from then on; false when the node stays the daemon's (not a
  // regular file or directory, a handler's, no set for its state).
  bool reply_backed(const Call& call, fuse_entry_out& out, const Place& place,
                    const struct stat& st, Inode* inode);
  // The program set serving nodes of `state` and `type` (null: none does).
  const KernelSet* kernel_set_of(const NodeState& state, uint8_t type) const;
  // A listing the kernel read from the lower directory, as the policy shows it.
  int filter_listing(const Call& call, const char* outputs, size_t outputs_len);
  // Whether every node id a request names is one of the daemon's (not
  // one the kernel made for a node it never told the daemon about).
  bool ids_known(const Call& call) const;
  // Whether every file handle an ordinary request names is one the daemon
  // made (not one of a file the kernel opened itself).
  bool handles_known(const Call& call) const;
  // fuse-bpf mode: a LINK whose source is a node the kernel holds without
  // the daemon knowing it; the daemon learns it for this request from the
  // kernel's listing (kernel_nodes.cc) and drops it at the end.
  class KernelLinkSource {
   public:
    KernelLinkSource(FsState& fs, const Call& call);
    ~KernelLinkSource();
    KernelLinkSource(const KernelLinkSource&) = delete;
    KernelLinkSource& operator=(const KernelLinkSource&) = delete;

   private:
    FsState& fs_;
    Inode* inode_ = nullptr;
  };
  Inode* learn_kernel_node(uint64_t id, const Call& call);
  bool link_source_learnt(uint64_t id) const;
  // The file a LINK links to: a node of the daemon's, or the one learnt.
  Inode* link_source(uint64_t id);
  // The answer to a request on a node or handle the daemon does not know:
  // EXDEV for a rename, link or copy_file_range (mv, ln and cp fall back,
  // checked anew), else EIO.
  int unknown_node(const Call& call) const;
  // fuse-bpf mode, after the daemon made a name the plan gave it to make
  // (mkdir, create, ...): the kernel forgets the name, so that its next
  // lookup backs the node and the daemon's postfilter learns it.
  void forget_made(const Call& call);
  // The audit records of a request (audit rules), its result still open.
  std::vector<AuditRecord> audit_records(const Call& call);
  int check_named(const Call& call, Inode* dir, const Caller& caller);
  int check_create(Inode* dir, const char* name, uint32_t flags, const Caller& caller);
  Caller caller_of(const Call& call) const;
  // 0, or ENFILE when the caller's process name, which the policy's
  // rules need, could not be read for want of a descriptor.
  int caller_known(const Call& call) const;
  // `name`: a view name, as requests carry them.
  NodeState state_of(Inode* parent, const std::string& name, const Call& call) const;
  // The path of `inode` in the view ("/" for the root, "?" once unlinked).
  std::string view_path(Inode* inode);
  // Where the view name `view` of `dir`, which the engine's `lookup`
  // resolved, is on the lower side (placement.cc): its name map's lower
  // name (in the stored spelling, for a name matched ignoring case), in
  // the directory a redirect gives it or its parent's. `type`: the type
  // of the object a request makes there; 0 to find the object the name
  // shows (ENOENT when none: a redirect filtered on types may put the
  // name elsewhere for the type found). 0 or an errno.
  int locate(Inode* dir, std::string_view view, const Engine::Lookup& lookup, uint8_t type,
             Place& out);
  // locate for the lower name `lookup` gives (name maps settled).
  int locate_named(Inode* dir, std::string_view view, const Engine::Lookup& lookup, uint8_t type,
                   Place& out);
  // The same, with the engine's lookup made here (after apply_policy).
  int locate(Inode* dir, const char* view, uint8_t type, const Call& call, Place& out);
  // The type of what the view shows at `view` in `dir` (0: nothing).
  uint8_t view_type(Inode* dir, std::string_view view, const Engine::Lookup& lookup);
  // One placement of a name: where `placed` (Engine::placement) puts it.
  int place_at(Inode* dir, std::string_view view, const Engine::Lookup& lookup, uint32_t placed,
               uint8_t type, Place& out);
  // On a lower root that may resolve other bytes to a stored name: ENOENT
  // (`type` 0: finding) or EACCES (making an object of `type`) when `name`
  // reaches an entry stored under other bytes; else 0.
  int refuse_alias(uint8_t root, int dirfd, const std::string& name, uint8_t type);
  // The view and the lower names of the path of `node`, root down.
  bool path_names(Inode* node, std::vector<std::string>& views, std::vector<std::string>& lowers);
  // The lower root a node is in (0: main).
  uint8_t root_of(Inode* inode);
  // Reads the listing of `dh` merged from its lower directory and those
  // redirects bring names from: every name as a lookup places it.
  int merge_listing(DirHandle* dh, const Call& call);
  // The index of the lower root named `name` (0: main).
  uint8_t root_index(const std::string& name) const;
  // In a case-insensitive directory: `name` if it exists, else its
  // lower-case spelling if that exists, else the first entry in byte
  // order equal to it ignoring ASCII case, else `name`.
  static std::string stored_name(int dirfd, const std::string& name);
  // The handler serving the caller's reads of a node of `state` that is
  // the lower object `st` (rule id + 1, 0 for none): picks its view.
  uint32_t handler_of(const NodeState& state, const struct stat& st, const Call& call) const;
  // What the handler of `inode` serves for its lower object `st` (a
  // regular file read through `fd`, or -1 to open it; a symlink's target).
  // 0 or an errno.
  int handled(Inode* inode, const struct stat& st, int fd, std::shared_ptr<const std::string>& out);
  bool cacheable(const Inode* inode) const;       // names (entry timeouts)
  bool attr_cacheable(const Inode* inode) const;  // attributes
  // Helpers shared by the handlers (ops_*.cc).
  Inode* node(uint64_t id) { return inodes_->from_node_id(id); }
  int open_dir_of(Inode* inode, UniqueFd& out);  // O_PATH fd of a directory inode
  int open_parent(Inode* inode, UniqueFd& dirfd, std::string& name);
  int open_node(Inode* inode, int flags, UniqueFd& out);  // the inode itself, no follow
  int open_for_exec(Inode* inode, UniqueFd& out);
  bool may_write(int fd, int dirfd, const std::string& name);
  int stat_node(Inode* inode, struct stat& st);
  // The entry of `place` (a name of `parent`) as the reply.
  int reply_entry(const Call& call, Inode* parent, const Place& place);
  // A LOOKUP of a name that is not there: a negative entry where the
  // kernel may keep one.
  int reply_absent(const Call& call, Inode* parent);
  void fill_entry(fuse_entry_out& out, Inode* inode, const struct stat& st, const Call& call);
  void fill_attr(fuse_attr& attr, const struct stat& st, const Inode* inode, const Call& call);
  // The policy's part of fill_attr: its attr rules, its link count.
  void apply_attr_rules(fuse_attr& attr, const Inode* inode, const Call& call);
  // A chown through the view asks for the ids the view shows: `in` gets
  // the lower ids (a field whose lower id stays loses its FATTR_ bit);
  // EPERM when no lower id shows as the one asked for.
  int lower_setattr_ids(const Inode* inode, const Call& call, fuse_setattr_in& in) const;
  int reply_attr(const Call& call, const struct stat& st);
  // symlink, mknod, mkdir: `make(dirfd, lower)` creates the view name
  // `name` (an object of `mode`'s type) where the policy places it (0, or
  // -1 with errno), as the caller; its entry is the reply.
  template <typename Make>
  int create_entry(const Call& call, const char* name, uint32_t mode, Make make);
  // unlink (0) and rmdir (AT_REMOVEDIR) of the request's name.
  int remove_entry(const Call& call, int unlink_flags);
  int do_rename(const Call& call, uint64_t newdir, uint32_t flags, const char* names,
                size_t len);
  // Registers an open handle with its inode (and with the kernel for
  // passthrough); returns the backing id, 0 without passthrough.
  // `allow_passthrough` false: only if the inode already has a backing file.
  int attach_handle(FileHandle& fh, bool allow_passthrough);
  void detach_handle(FileHandle& fh);
  // An fd of some open handle of `inode` (dup'ed into `out`), for
  // operations on an unlinked file that no path reaches. -ENOENT if none.
  int open_handle_fd(Inode* inode, UniqueFd& out);
  uint32_t open_flags_for();
  int readdir_common(const Call& call, bool plus);
  // Whether the lower entry `name` is listed for the caller, and as what.
  // `dirfd`: the directory, for the types getdents does not give.
  bool listed(Inode* dir, int dirfd, unsigned char d_type, const char* name, const Call& call,
              std::string& view);
  int lock_common(const Call& call, bool wait);

  const MountOptions& options_;
  // Requests hold the policy lock shared; a reload takes it exclusively
  // (writers first, so a stream of requests cannot starve it).
  pthread_rwlock_t policy_lock_;
  const Policy* policy_;
  std::vector<std::shared_ptr<const Policy>> reloaded_;  // kept for the daemon's life
  const Engine* engine_;
  Session* session_ = nullptr;
  std::vector<UniqueFd> roots_;  // the lower roots: main first, then the policy's in order
  std::vector<std::string> root_names_;
  std::vector<std::string> root_paths_;  // as opened at mount
  std::vector<std::pair<dev_t, ino_t>> root_ids_;
  std::vector<bool> root_aliases_;  // may resolve other bytes to a stored name (lower.h)
  bool aliases_ = false;            // some root does
  std::unique_ptr<InodeTable> inodes_;
  std::unique_ptr<AuditLog> audit_;
  HandledContents handled_;
  DirReadahead readahead_;
  uint64_t entry_valid_ns_ = 0;
  uint64_t attr_valid_ns_ = 0;
  uint64_t negative_valid_ns_ = 0;
  std::array<std::atomic<uint64_t>, 64> counters_{};
  std::array<std::atomic<uint64_t>, 64> pre_counters_{};
  std::array<std::atomic<uint64_t>, 64> post_counters_{};
  bool filters_ = false;
  std::vector<KernelSet> kernel_sets_;
  std::atomic<uint64_t> errors_{0};
  std::atomic<uint64_t> unnamed_{0};  // lower names without a view name, seen in listings
  std::atomic<uint64_t> hidden_{0};
  std::atomic<uint64_t> denied_{0};
  std::atomic<uint64_t> rewritten_{0};
  std::atomic<uint64_t> handled_count_{0};
  std::atomic<uint64_t> open_files_{0};
  int fd_limit_ = 0;
  int fd_ceiling_ = 0;
  std::atomic<uint64_t> fd_refusals_{0};
  std::atomic<int64_t> fd_logged_s_{0};    // when out_of_fds last logged (monotonic s)
  std::atomic<uint64_t> fd_logged_at_{0};  // fd_refusals_ then
  std::atomic<uint64_t> passthrough_opens_{0};
  std::atomic<bool> passthrough_failed_{false};
};

}  // namespace fspol::runtime
