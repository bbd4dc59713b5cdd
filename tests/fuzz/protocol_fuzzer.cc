// libFuzzer target: the daemon's request framing and dispatcher
// (frame_request, FsState::dispatch) fed raw FUSE messages as the kernel
// writes them to /dev/fuse, against a real lower tmpfs, under a policy with
// every rule kind (FSPOL_FUZZ_POLICY, default tests/eval/semantics.fspol).
// With FSPOL_FUZZ_FILTERS=1 the daemon serves as in fuse-bpf mode: the
// policy planned for fspol-6.1, and besides ordinary requests the kernel's
// FUSE_PREFILTER / FUSE_POSTFILTER ones (inputs, outputs and the error_in
// extension as the fuzzer wrote them) and node ids the kernel made without
// telling the daemon. Answers the kernel takes through its ioctl (lookup
// answers with fuse_bpf_entry_out records) fail on the socket: the daemon
// answers EIO and must keep no node for them.
//
// An input is a sequence of frames, [u16 little-endian size][size bytes],
// each one read(2) of /dev/fuse: header, fixed argument, names and data,
// with whatever lengths (the header's included), opcodes, flags, names
// (NUL or not), sizes, offsets and callers the fuzzer chose.
//
// The kernel's side of the contract is kept, because the daemon trusts it
// by design (node ids and file handles are the daemon's own pointers):
//  - a node id names a node the daemon handed out and the kernel still
//    holds (the fuzzer's value indexes them), a file handle an open one of
//    the right kind, and a handle's requests its node; FORGET never drops more lookups than were
//    given, nor the last one of a node with open handles;
//  - OPEN is for regular files, OPENDIR for directories (the kernel keeps
//    FIFOs and devices to itself);
//  - SETLKW becomes SETLK: one thread cannot unblock itself;
//  - the caller's pid is this process, a process of uid 1000, or the
//    fuzzer's number (often no process at all).
//
// Checked for every request: exactly one reply (none for FORGET,
// BATCH_FORGET and INTERRUPT), as long as it says, with the request's
// unique and a valid errno. After every input, once the kernel's
// references are dropped: no node left but the root, no open file, no fd
// more than before. ASan, UBSan and LeakSanitizer check memory.

#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <linux/fuse.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "fspol/runtime/runtime.h"
#include "fuse/credentials.h"
#include "fuse/fs.h"
#include "fuse/session.h"
#include "fuse_bpf_abi.h"
#include "plan/plan.h"
#include "policy/engine.h"

namespace {

using fspol::runtime::Call;
using fspol::runtime::FsState;
using fspol::runtime::MountOptions;
using fspol::runtime::Policy;
using fspol::runtime::Session;

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "protocol_fuzzer: %s\n", what.c_str());
  std::abort();
}

// ---- the lower tree, the same before every input --------------------------

struct Entry {
  const char* path;
  char type;  // d: directory, f: file, l: symlink (contents: target)
  const char* contents;
};

// Names every rule of semantics.fspol reaches, and the shapes the
// protocol has (a symlink, a hard link, xattrs, an empty and a sized file).
const Entry kTree[] = {
    {"shared", 'd', nullptr},
    {"shared/team", 'd', nullptr},
    {"shared/team/plan.txt", 'f', "plan"},
    {"ro", 'd', nullptr},
    {"ro/fixed.txt", 'f', "fixed"},
    {"private", 'd', nullptr},
    {"private/key", 'f', "k"},
    {"notes.secret", 'f', "s"},
    {"keep", 'd', nullptr},
    {"keep/sub", 'd', nullptr},
    {"media", 'd', nullptr},
    {"media/photos", 'd', nullptr},
    {"media/photos/a.jpg", 'f', "jpeg"},
    {"docs", 'd', nullptr},
    {"docs/readme.md", 'f', "# readme"},
    {"docs/guide.markdown", 'f', "guide"},
    {"kept", 'd', nullptr},
    {"kept/k.txt", 'f', "kept"},
    {"ci", 'd', nullptr},
    {"ci/ReadMe.TXT", 'f', "case"},
    {"logs", 'd', nullptr},
    {"logs/app.log", 'f', "password=hunter2\nok\n"},
    {"empty", 'f', ""},
    {"link", 'l', "docs/readme.md"},
};
const Entry kArchive[] = {
    {"2019", 'd', nullptr},
    {"2019/old.txt", 'f', "old"},
    {"2019/sub", 'd', nullptr},
};

void make_tree(const std::string& root, const Entry* begin, const Entry* end) {
  for (const Entry* e = begin; e != end; ++e) {
    std::string path = root + "/" + e->path;
    if (e->type == 'd') {
      if (::mkdir(path.c_str(), 0777) != 0) fail("mkdir " + path + ": " + std::strerror(errno));
      ::chmod(path.c_str(), 0777);
    } else if (e->type == 'l') {
      if (::symlink(e->contents, path.c_str()) != 0) fail("symlink " + path);
    } else {
      int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0666);
      if (fd < 0) fail("create " + path + ": " + std::strerror(errno));
      size_t len = std::strlen(e->contents);
      if (::write(fd, e->contents, len) != static_cast<ssize_t>(len)) fail("write " + path);
      ::fchmod(fd, 0666);
      ::fsetxattr(fd, "user.tag", "v", 1, 0);
      ::close(fd);
    }
  }
}

int remove_one(const char* path, const struct stat*, int, FTW*) {
  // A fuzzed chmod may leave a directory unsearchable: root ignores that.
  return ::remove(path) == 0 || errno == ENOENT ? 0 : -1;
}

void clear_dir(const std::string& root) {
  for (const auto& e : std::filesystem::directory_iterator(root)) {
    if (::nftw(e.path().c_str(), remove_one, 16, FTW_DEPTH | FTW_PHYS) != 0) {
      fail("cannot clear " + e.path().string() + ": " + std::strerror(errno));
    }
  }
}

// ---- what stays for the whole run ------------------------------------------

struct World {
  std::string dir;  // holds lower/ and archive/
  std::string lower, archive;
  std::unique_ptr<Policy> policy;
  MountOptions options;
  std::vector<fspol::runtime::KernelSet> kernel_sets;  // FSPOL_FUZZ_FILTERS: fuse-bpf mode
  bool filters = false;
  pid_t user_pid = 0;                     // a process of uid 1000 (a caller to act as)
  int replies_in = -1, replies_out = -1;  // the "device": the daemon writes, we read
};

World* world = nullptr;

void stop_user_process() {
  if (world != nullptr && world->user_pid > 0) {
    ::kill(world->user_pid, SIGKILL);
    ::waitpid(world->user_pid, nullptr, 0);
  }
}

pid_t start_user_process() {
  pid_t pid = ::fork();
  if (pid < 0) fail("fork");
  if (pid == 0) {
    int null = ::open("/dev/null", O_RDWR);
    ::dup2(null, 0), ::dup2(null, 1), ::dup2(null, 2);
    gid_t groups[] = {100};
    if (::setgroups(1, groups) != 0 || ::setresgid(1000, 1000, 1000) != 0 ||
        ::setresuid(1000, 1000, 1000) != 0) {
      ::_exit(0);  // not root: pids then name this process or none
    }
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // after setresuid, which clears it
    if (::getppid() == 1) ::_exit(0);
    for (;;) ::pause();
  }
  return pid;
}

std::string source_dir() {
  const char* env = std::getenv("FSPOL_SOURCE_DIR");
  return env != nullptr ? env : FSPOL_SOURCE_DIR_DEFAULT;
}

void set_up() {
  world = new World;
  // Under FSPOL_FUZZ_TMPDIR (run_fuzz.sh's, removed even after a crash,
  // which skips atexit), else /dev/shm: a tmpfs either way.
  const char* parent = std::getenv("FSPOL_FUZZ_TMPDIR");
  std::string tmpl =
      std::string(parent != nullptr ? parent : "/dev/shm") + "/fspol-protocol-fuzz.XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) fail("mkdtemp " + tmpl + ": " + std::strerror(errno));
  world->dir = tmpl;
  world->lower = world->dir + "/lower";
  world->archive = world->dir + "/archive";
  ::mkdir(world->lower.c_str(), 0777);
  ::mkdir(world->archive.c_str(), 0777);
  ::chmod(world->lower.c_str(), 0777);
  make_tree(world->archive, std::begin(kArchive), std::end(kArchive));

  const char* env = std::getenv("FSPOL_FUZZ_POLICY");
  std::string policy_path = env != nullptr ? env : source_dir() + "/tests/eval/semantics.fspol";
  auto policy = fspol::runtime::load_policy(policy_path, {}, std::cerr);
  if (!policy) fail("cannot load " + policy_path + ": " + policy.error().message);
  world->policy = std::make_unique<Policy>(std::move(*policy));
  MountOptions& o = world->options;
  o = world->policy->settings;
  o.lower = world->lower;
  o.mountpoint = world->dir + "/view";  // never mounted
  o.lower_roots = {{"archive", world->archive}};
  o.audit_log = world->dir + "/audit.log";
  o.passthrough = false;
  o.max_write = 128 * 1024;
  if (const char* f = std::getenv("FSPOL_FUZZ_FILTERS"); f != nullptr && *f == '1') {
    // The sets fsrun would register: their node states, names of the
    // fuzzer's own (no kernel sees them).
    world->filters = true;
    namespace plan = fspol::plan;
    plan::Plan p = plan::make_plan(world->policy->engine->policy(), plan::Profile::kFspol61);
    for (size_t i = 0; i < p.sets.size(); ++i) {
      std::vector<uint32_t> above = p.sets[i].hidden_above;
      std::sort(above.begin(), above.end());
      world->kernel_sets.push_back({p.sets[i].cls, std::move(above), p.sets[i].types,
                                    p.sets[i].passthrough ? std::string() : "fz_0",
                                    p.sets[i].passthrough ? 0 : static_cast<uint32_t>(i)});
    }
  }

  fspol::runtime::init_credentials();
  world->user_pid = start_user_process();
  std::atexit([] {
    stop_user_process();
    if (world != nullptr) std::filesystem::remove_all(world->dir);
  });

  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) fail("socketpair");
  // Room for the largest reply (a read of max_write, a listing).
  int size = 8 << 20;
  if (::setsockopt(sv[0], SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) != 0)
    ::setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  if (::setsockopt(sv[1], SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0)
    ::setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  world->replies_in = sv[0];
  world->replies_out = sv[1];
  ::signal(SIGPIPE, SIG_IGN);
}

int count_fds() {
  int n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

// ---- the kernel's side -------------------------------------------------------

struct Node {
  uint64_t id;
  uint64_t nlookup;  // lookups the kernel holds (the root: not counted)
  uint32_t mode;
};
struct Handle {
  uint64_t fh;
  uint64_t node;
  bool dir;
};

// The u64 at `offset` of a request's argument, or null past its end.
uint64_t* arg_field(char* arg, size_t arglen, size_t offset) {
  return offset + sizeof(uint64_t) <= arglen ? reinterpret_cast<uint64_t*>(arg + offset) : nullptr;
}

// For an operation whose argument starts with a file handle: whether it is
// a directory's (nullopt: no leading handle).
std::optional<bool> leading_handle(uint32_t opcode) {
  static_assert(offsetof(fuse_read_in, fh) == 0 && offsetof(fuse_write_in, fh) == 0 &&
                offsetof(fuse_release_in, fh) == 0 && offsetof(fuse_lseek_in, fh) == 0 &&
                offsetof(fuse_lk_in, fh) == 0 && offsetof(fuse_fallocate_in, fh) == 0);
  switch (opcode) {
    case FUSE_READ:
    case FUSE_WRITE:
    case FUSE_FLUSH:
    case FUSE_RELEASE:
    case FUSE_FSYNC:
    case FUSE_LSEEK:
    case FUSE_FALLOCATE:
    case FUSE_GETLK:
    case FUSE_SETLK:
    case FUSE_SETLKW:
    case FUSE_IOCTL:
    case FUSE_POLL:
      return false;
    case FUSE_READDIR:
    case FUSE_READDIRPLUS:
    case FUSE_RELEASEDIR:
    case FUSE_FSYNCDIR:
      return true;
    default:
      return std::nullopt;
  }
}

class Kernel {
 public:
  explicit Kernel(FsState& fs) : fs_(fs) { nodes_.push_back({FUSE_ROOT_ID, 0, S_IFDIR}); }

  // One frame of the input, with the contract kept; dropped when the
  // kernel could not have sent it (no node or handle of the kind it needs).
  void send(std::vector<char> msg) {
    if (msg.size() >= sizeof(fuse_in_header)) {
      auto* in = reinterpret_cast<fuse_in_header*>(msg.data());
      in->unique = ++unique_;
      if (in->opcode == FUSE_SETLKW) in->opcode = FUSE_SETLK;
      in->pid = pick_pid(in->pid);
      if (!keep_contract(*in, msg.data() + sizeof *in, msg.size() - sizeof *in)) return;
    }
    dispatch(msg);
  }

  // What the kernel does at unmount: closes every file, forgets every node.
  void drop_everything() {
    for (size_t i = handles_.size(); i-- > 0;) {
      const Handle h = handles_[i];
      fuse_release_in rel{};
      rel.fh = h.fh;
      send_fixed(h.dir ? FUSE_RELEASEDIR : FUSE_RELEASE, h.node, &rel, sizeof rel);
    }
    std::vector<char> msg(sizeof(fuse_in_header) + sizeof(fuse_batch_forget_in));
    for (const Node& n : nodes_) {
      if (n.id == FUSE_ROOT_ID) continue;
      fuse_forget_one one{n.id, n.nlookup};
      const char* p = reinterpret_cast<const char*>(&one);
      msg.insert(msg.end(), p, p + sizeof one);
    }
    auto* in = reinterpret_cast<fuse_in_header*>(msg.data());
    in->opcode = FUSE_BATCH_FORGET;
    in->len = static_cast<uint32_t>(msg.size());
    in->unique = ++unique_;
    reinterpret_cast<fuse_batch_forget_in*>(msg.data() + sizeof *in)->count =
        static_cast<uint32_t>(nodes_.size() - 1);
    dispatch(msg);
    nodes_.resize(1);
    handles_.clear();
  }

 private:
  uint32_t pick_pid(uint32_t raw) const {
    switch (raw % 4) {
      case 0:
        return static_cast<uint32_t>(::getpid());
      case 1:
        return static_cast<uint32_t>(world->user_pid);
      case 2:
        return 0;  // outside the daemon's pid namespace
      default:
        return raw;
    }
  }

  Node* node_at(uint64_t raw) { return &nodes_[raw % nodes_.size()]; }
  Node* find(uint64_t id) {
    for (Node& n : nodes_)
      if (n.id == id) return &n;
    return nullptr;
  }
  bool has_handles(uint64_t id) const {
    return std::any_of(handles_.begin(), handles_.end(),
                       [&](const Handle& h) { return h.node == id; });
  }
  // An open handle of the kind `dir`, indexed by `raw`; null when none.
  const Handle* handle_at(uint64_t raw, bool dir) const {
    std::vector<const Handle*> of_kind;
    for (const Handle& h : handles_)
      if (h.dir == dir) of_kind.push_back(&h);
    return of_kind.empty() ? nullptr : of_kind[raw % of_kind.size()];
  }

  // Rewrites node ids, handles and lookup counts in place, as the kernel
  // would have sent them.
  bool keep_contract(fuse_in_header& in, char* arg, size_t arglen) {
    if (!world->filters) in.opcode &= ~uint32_t{FUSE_PREFILTER | FUSE_POSTFILTER};
    if (in.opcode & (FUSE_PREFILTER | FUSE_POSTFILTER))
      return keep_filter_contract(in, arg, arglen);
    Node* target = node_at(in.nodeid);
    in.nodeid = target->id;
    auto field = [&](size_t offset) { return arg_field(arg, arglen, offset); };
    auto map_node = [&](size_t offset) {
      if (uint64_t* f = field(offset)) *f = node_at(*f)->id;
    };
    // A handle's requests name the node it was opened on: `node` is set
    // to it (the header's node id unless told otherwise).
    auto map_handle = [&](size_t offset, bool dir, uint64_t* node = nullptr) {
      uint64_t* f = field(offset);
      if (f == nullptr) return true;
      const Handle* h = handle_at(*f, dir);
      *f = h != nullptr ? h->fh : 0;
      if (h != nullptr) *(node != nullptr ? node : &in.nodeid) = h->node;
      return h != nullptr;
    };
    if (std::optional<bool> dir = leading_handle(in.opcode)) {
      if (!map_handle(0, *dir)) return false;
      if (in.opcode == FUSE_RELEASE || in.opcode == FUSE_RELEASEDIR) release(arg, arglen);
      return true;
    }
    switch (in.opcode) {
      case FUSE_OPEN:
        return S_ISREG(target->mode);
      case FUSE_OPENDIR:
        return S_ISDIR(target->mode);
      case FUSE_RENAME:
        map_node(offsetof(fuse_rename_in, newdir));
        return true;
      case FUSE_RENAME2:
        map_node(offsetof(fuse_rename2_in, newdir));
        return true;
      case FUSE_LINK:
        map_node(offsetof(fuse_link_in, oldnodeid));
        return true;
      case FUSE_GETATTR: {
        bool by_handle = arglen >= sizeof(fuse_getattr_in) &&
                         (reinterpret_cast<fuse_getattr_in*>(arg)->getattr_flags & FUSE_GETATTR_FH);
        return !by_handle || map_handle(offsetof(fuse_getattr_in, fh), false);
      }
      case FUSE_SETATTR: {
        bool by_handle = arglen >= sizeof(fuse_setattr_in) &&
                         (reinterpret_cast<fuse_setattr_in*>(arg)->valid & FATTR_FH);
        return !by_handle || map_handle(offsetof(fuse_setattr_in, fh), false);
      }
      case FUSE_COPY_FILE_RANGE:
        return map_handle(offsetof(fuse_copy_file_range_in, fh_in), false) &&
               map_handle(offsetof(fuse_copy_file_range_in, fh_out), false,
                          field(offsetof(fuse_copy_file_range_in, nodeid_out)));
      case FUSE_FORGET:
        if (arglen < sizeof(fuse_forget_in)) return true;
        return forget(*target, reinterpret_cast<fuse_forget_in*>(arg)->nlookup);
      case FUSE_BATCH_FORGET: {
        // The count is the fuzzer's; the entries it covers are the kernel's.
        if (arglen < sizeof(fuse_batch_forget_in)) return true;
        // Entries the kernel could not send are left out.
        auto* batch = reinterpret_cast<fuse_batch_forget_in*>(arg);
        auto* one = reinterpret_cast<fuse_forget_one*>(arg + sizeof *batch);
        size_t fit = std::min<size_t>(batch->count, (arglen - sizeof *batch) / sizeof *one);
        size_t kept = 0;
        for (size_t i = 0; i < fit; ++i) {
          Node* n = node_at(one[i].nodeid);
          fuse_forget_one entry{n->id, one[i].nlookup};
          if (forget(*n, entry.nlookup)) one[kept++] = entry;
        }
        if (kept < fit) batch->count = static_cast<uint32_t>(kept);
        return true;
      }
      default:
        return true;
    }
  }

  // A filter request names nodes the kernel holds (now and then one it
  // made without telling the daemon) and handles the daemon made, or 0
  // (a file the kernel opened itself); it releases and forgets nothing.
  bool keep_filter_contract(fuse_in_header& in, char* arg, size_t arglen) {
    uint32_t op = in.opcode & FUSE_OPCODE_FILTER;
    if (op == FUSE_FORGET || op == FUSE_BATCH_FORGET || op == FUSE_INIT || op == FUSE_INTERRUPT ||
        op == FUSE_DESTROY) {
      return false;
    }
    auto id = [&](uint64_t raw) {
      return (raw >> 32) % 8 == 7 ? FUSE_BPF_NODEID_BASE | (raw & 0xff) : node_at(raw)->id;
    };
    in.nodeid = id(in.nodeid);
    auto map_node = [&](size_t offset) {
      if (uint64_t* f = arg_field(arg, arglen, offset)) *f = id(*f);
    };
    auto map_handle = [&](size_t offset, bool dir) {
      if (uint64_t* f = arg_field(arg, arglen, offset)) {
        const Handle* h = *f % 2 ? handle_at(*f / 2, dir) : nullptr;
        *f = h != nullptr ? h->fh : 0;
      }
    };
    if (std::optional<bool> dir = leading_handle(op)) map_handle(0, *dir);
    switch (op) {
      case FUSE_RENAME:
        map_node(offsetof(fuse_rename_in, newdir));
        break;
      case FUSE_RENAME2:
        map_node(offsetof(fuse_rename2_in, newdir));
        break;
      case FUSE_LINK:
        map_node(offsetof(fuse_link_in, oldnodeid));
        break;
      case FUSE_COPY_FILE_RANGE:
        map_handle(offsetof(fuse_copy_file_range_in, fh_in), false);
        map_handle(offsetof(fuse_copy_file_range_in, fh_out), false);
        map_node(offsetof(fuse_copy_file_range_in, nodeid_out));
        break;
      case FUSE_GETATTR:
        map_handle(offsetof(fuse_getattr_in, fh), false);
        break;
      case FUSE_SETATTR:
        map_handle(offsetof(fuse_setattr_in, fh), false);
        break;
      default:
        break;
    }
    // A lookup's postfilter learns the node when the lookup found one
    // (error_in 0, the last 16 bytes) and answers with it.
    learns_ = false;
    if (in.opcode == (FUSE_LOOKUP | FUSE_POSTFILTER) && arglen >= 16) {
      uint32_t ext[4];
      std::memcpy(ext, arg + arglen - sizeof ext, sizeof ext);
      learns_ = ext[0] == 16 && ext[1] == FUSE_ERROR_IN && ext[2] == 0;
    }
    return true;
  }

  // Lowers `n` to what the kernel may drop of `node` (once the daemon
  // takes the request); false when it would drop nothing, which the
  // kernel never asks (nor anything of the root).
  bool forget(Node& node, uint64_t& n) {
    if (node.id == FUSE_ROOT_ID) return false;
    uint64_t keep = has_handles(node.id) ? 1 : 0;
    uint64_t pending = 0;
    for (const auto& [id, count] : forgotten_)
      if (id == node.id) pending += count;
    n = std::min(n, node.nlookup - keep - pending);
    if (n == 0) return false;
    forgotten_.emplace_back(node.id, n);
    return true;
  }

  void release(const char* arg, size_t arglen) {
    if (arglen < sizeof(uint64_t)) return;
    uint64_t fh;
    std::memcpy(&fh, arg, sizeof fh);
    released_.push_back(fh);
  }

  void send_fixed(uint32_t opcode, uint64_t nodeid, const void* arg, size_t len) {
    std::vector<char> msg(sizeof(fuse_in_header) + len);
    auto* in = reinterpret_cast<fuse_in_header*>(msg.data());
    in->len = static_cast<uint32_t>(msg.size());
    in->opcode = opcode;
    in->unique = ++unique_;
    in->nodeid = nodeid;
    in->pid = static_cast<uint32_t>(::getpid());
    std::memcpy(msg.data() + sizeof *in, arg, len);
    dispatch(msg);
  }

  void dispatch(std::vector<char>& msg) {
    // Exactly as long as the read, so that reading past it is caught.
    std::unique_ptr<char[]> buf(new char[msg.size()]);
    if (!msg.empty()) std::memcpy(buf.get(), msg.data(), msg.size());
    Call call;
    bool framed = fspol::runtime::frame_request(buf.get(), msg.size(), world->replies_in, call);
    if (framed) fs_.dispatch(call);
    bool refused = false;
    if (msg.size() < sizeof(fuse_in_header)) {
      expect_replies(nullptr, 0);
    } else {
      const auto* in = reinterpret_cast<const fuse_in_header*>(msg.data());
      bool silent = framed && (in->opcode == FUSE_FORGET || in->opcode == FUSE_BATCH_FORGET ||
                               in->opcode == FUSE_INTERRUPT);
      refused = !expect_replies(in, silent ? 0 : 1);
    }
    // A request the daemon refused (to frame, or with an errno: a RELEASE
    // too short to read) released and forgot nothing.
    if (framed && !refused) {
      for (uint64_t fh : released_) {
        handles_.erase(std::remove_if(handles_.begin(), handles_.end(),
                                      [&](const Handle& h) { return h.fh == fh; }),
                       handles_.end());
      }
      for (const auto& [id, count] : forgotten_) find(id)->nlookup -= count;
      nodes_.erase(
          std::remove_if(nodes_.begin(), nodes_.end(),
                         [](const Node& n) { return n.id != FUSE_ROOT_ID && n.nlookup == 0; }),
          nodes_.end());
    }
    released_.clear();
    forgotten_.clear();
  }

  // Checks the replies to `in`; false when one is an error.
  bool expect_replies(const fuse_in_header* in, int expected) {
    static std::vector<char> buf(16 << 20);
    int got = 0;
    bool ok = true;
    for (;;) {
      ssize_t n = ::recv(world->replies_out, buf.data(), buf.size(), MSG_DONTWAIT);
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        fail(std::string("reading replies: ") + std::strerror(errno));
      }
      ++got;
      if (in == nullptr) fail("a reply to a message shorter than a header");
      if (static_cast<size_t>(n) < sizeof(fuse_out_header)) fail("a reply shorter than its header");
      const auto* out = reinterpret_cast<const fuse_out_header*>(buf.data());
      if (out->len != static_cast<size_t>(n)) fail("a reply whose length is not its size");
      if (out->unique != in->unique) fail("a reply to another request");
      if (out->error > 0 || out->error < -4095) fail("a reply with an invalid errno");
      if (out->error != 0 && n != sizeof *out) fail("an error reply with a body");
      if (trace_)
        std::fprintf(stderr, "  opcode %u node %llu -> %d (%zd bytes)\n", in->opcode,
                     static_cast<unsigned long long>(in->nodeid), out->error, n);
      if (out->error == 0)
        learn(*in, buf.data() + sizeof *out, static_cast<size_t>(n) - sizeof *out);
      ok = ok && out->error == 0;
    }
    if (got != expected) {
      fail("opcode " + std::to_string(in != nullptr ? in->opcode : 0) + ": " + std::to_string(got) +
           " replies, expected " + std::to_string(expected));
    }
    return ok;
  }

  // What a successful reply hands the kernel: nodes and handles.
  void learn(const fuse_in_header& in, const char* body, size_t len) {
    auto entry = [&](const fuse_entry_out& e) {
      if (e.nodeid == 0) return;
      if (Node* n = find(e.nodeid)) {
        ++n->nlookup;
      } else {
        nodes_.push_back({e.nodeid, 1, e.attr.mode});
      }
    };
    switch (in.opcode) {
      case FUSE_LOOKUP | FUSE_POSTFILTER:
        if (!learns_) break;  // an answer that echoes the kernel's entry
        [[fallthrough]];
      case FUSE_LOOKUP:
      case FUSE_MKNOD:
      case FUSE_MKDIR:
      case FUSE_SYMLINK:
      case FUSE_LINK:
        if (len < sizeof(fuse_entry_out)) fail("a short entry reply");
        entry(*reinterpret_cast<const fuse_entry_out*>(body));
        break;
      case FUSE_CREATE: {
        if (len < sizeof(fuse_entry_out) + sizeof(fuse_open_out)) fail("a short create reply");
        const auto* e = reinterpret_cast<const fuse_entry_out*>(body);
        entry(*e);
        const auto* o = reinterpret_cast<const fuse_open_out*>(body + sizeof *e);
        handles_.push_back({o->fh, e->nodeid, false});
        break;
      }
      case FUSE_OPEN:
      case FUSE_OPENDIR: {
        if (len < sizeof(fuse_open_out)) fail("a short open reply");
        const auto* o = reinterpret_cast<const fuse_open_out*>(body);
        handles_.push_back({o->fh, in.nodeid, in.opcode == FUSE_OPENDIR});
        break;
      }
      case FUSE_READDIRPLUS:
        for (size_t at = 0; at < len;) {
          if (len - at < FUSE_NAME_OFFSET_DIRENTPLUS) fail("a torn readdirplus record");
          const auto* d = reinterpret_cast<const fuse_direntplus*>(body + at);
          size_t size = FUSE_DIRENTPLUS_SIZE(d);
          if (size > len - at) fail("a readdirplus record past the reply");
          std::string_view name(d->dirent.name, d->dirent.namelen);
          if (name != "." && name != "..") entry(d->entry_out);
          at += size;
        }
        break;
      default:
        break;
    }
  }

  FsState& fs_;
  bool trace_ = std::getenv("FSPOL_FUZZ_TRACE") != nullptr;  // each reply, for writing seeds
  uint64_t unique_ = 0;
  bool learns_ = false;  // the filter request being sent: a lookup postfilter that learns
  std::vector<Node> nodes_;
  std::vector<Handle> handles_;
  // What the request being sent releases and forgets.
  std::vector<uint64_t> released_;
  std::vector<std::pair<uint64_t, uint64_t>> forgotten_;
};

// One input, on a thread of its own as a daemon worker: acting as callers
// changes the thread's credentials, and the harness keeps its own.
void run_input(const uint8_t* data, size_t size) {
  FsState fs(world->options, world->policy.get());
  if (auto r = fs.open_lower(); !r) fail("open_lower: " + r.error().message);
  Session session(fs, world->options);  // never mounted: replies go to the socket
  fs.attach(&session);
  if (world->filters) fs.serve_filters(world->kernel_sets);
  Kernel kernel(fs);
  for (size_t at = 0; at + 2 <= size;) {
    size_t len = data[at] | static_cast<size_t>(data[at + 1]) << 8;
    at += 2;
    len = std::min(len, size - at);
    kernel.send(std::vector<char>(data + at, data + at + len));
    at += len;
  }
  kernel.drop_everything();
  if (fs.inode_count() != 0) fail(std::to_string(fs.inode_count()) + " nodes left after unmount");
  if (fs.open_files() != 0) fail(std::to_string(fs.open_files()) + " files left open");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  set_up();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  clear_dir(world->lower);
  // The root's own attributes too: an input may have changed them.
  if (::chown(world->lower.c_str(), 0, 0) != 0 || ::chmod(world->lower.c_str(), 0777) != 0)
    fail("cannot reset " + world->lower);
  make_tree(world->lower, std::begin(kTree), std::end(kTree));
  int fds_before = count_fds();
  std::thread([&] { run_input(data, size); }).join();
  if (count_fds() != fds_before) fail("fds leaked: " + std::to_string(count_fds() - fds_before));
  return 0;
}
