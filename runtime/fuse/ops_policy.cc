// Where the policy enters a request (docs/runtime.md): before a handler
// runs, the request's operation atoms (policy/atoms.h) are checked on its
// node, or on the child it names, through the engine seam. Replies carry
// the engine's attributes and cache answers (fs.cc); lookups give every
// node its state (Inode::state).
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "fuse/credentials.h"
#include "fuse/fs.h"
#include "ir/decide.h"
#include "policy/atoms.h"

namespace fspol::runtime {

uint8_t type_bit(uint32_t mode) {
  switch (mode & S_IFMT) {
    case S_IFDIR: return syntax::kTypeDir;
    case S_IFLNK: return syntax::kTypeSymlink;
    case S_IFIFO: return syntax::kTypeFifo;
    case S_IFSOCK: return syntax::kTypeSocket;
    case S_IFCHR: return syntax::kTypeChardev;
    case S_IFBLK: return syntax::kTypeBlockdev;
    default: return syntax::kTypeFile;
  }
}

namespace {

// The caller's process name, read once per request (the decisions of one
// request see one name), and whether reading it failed for want of a
// descriptor.
struct CommOf {
  uint64_t unique = 0;
  std::string comm;
  int error = 0;
};

const CommOf& comm_of(const Call& call) {
  thread_local CommOf c;
  if (c.unique != call.in->unique || c.unique == 0) {
    c.comm = caller_comm(*call.in, &c.error);
    c.unique = call.in->unique;
  }
  return c;
}

}  // namespace

Caller FsState::caller_of(const Call& call) const {
  if (!engine_->uses_comm()) return Caller{call.in->uid, call.in->gid, {}};
  return Caller{call.in->uid, call.in->gid, comm_of(call).comm};
}

int FsState::caller_known(const Call& call) const {
  // A rule on process names must not decide on a name the daemon failed
  // to read: "" would pass `hide ... when comm == "x"` for x itself.
  return engine_->uses_comm() ? comm_of(call).error : 0;
}

NodeState FsState::state_of(Inode* parent, const std::string& name, const Call& call) const {
  if (engine_->trivial()) return NodeState{};
  return engine_->lookup(parent->state, name, caller_of(call)).node;
}

std::string FsState::view_path(Inode* inode) {
  std::string path;
  auto view_name = [&](const Inode* node, const std::string& lower) {
    return engine_->view_name(node->state, lower, type_bit(node->type));
  };
  return inodes_->view_path(inode, view_name, path) ? path : "?";
}

std::string FsState::stored_name(int dirfd, const std::string& name) {
  struct stat st{};
  if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) return name;
  std::string lower = ir::folded(name);
  if (lower != name && ::fstatat(dirfd, lower.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) return lower;
  int fd = ::openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return name;
  DIR* d = ::fdopendir(fd);
  if (d == nullptr) {
    ::close(fd);
    return name;
  }
  std::string best;
  while (const dirent* e = ::readdir(d)) {
    std::string_view candidate(e->d_name);
    if (ir::equal_folded(candidate, lower) && (best.empty() || candidate < best)) best = candidate;
  }
  ::closedir(d);
  return best.empty() ? name : best;
}

uint32_t FsState::handler_of(const NodeState& state, const struct stat& st,
                             const Call& call) const {
  // Handlers serve what a file holds and what a symlink points to.
  if (engine_->trivial() || !(S_ISREG(st.st_mode) || S_ISLNK(st.st_mode))) return 0;
  return engine_->handler(state, ir::Op::kRead, type_bit(st.st_mode), caller_of(call));
}

// open(2) with O_CREAT: a hidden name is refused as a create would be
// (EACCES); an existing file is an open of it (read, write, truncate);
// only a new name is a create. op_create opens new names with O_EXCL and
// comes back here if the name appeared meanwhile.
int FsState::check_create(Inode* dir, const char* name, uint32_t flags, const Caller& caller) {
  Engine::Lookup child = engine_->lookup(dir->state, name, caller);
  // Where no rule decides a create or an open there, whether the name
  // exists does not matter: no fstatat.
  ir::OpSet opens = open_atoms(flags & ~static_cast<uint32_t>(O_CREAT));
  if (child.error == 0 && engine_->decides_nothing(dir->state, 0) &&
      engine_->decides_nothing(child.node, opens | ir::bit(ir::Op::kCreate))) {
    return 0;
  }
  uint8_t existing = child.error ? 0 : view_type(dir, name, child);
  bool hidden = child.error != 0 ||
                engine_->lookup_type(child.node, existing ? existing : syntax::kTypeFile, caller) != 0;
  if (hidden || existing == 0) {
    return engine_->check_new(dir->state, name, ir::Op::kCreate, syntax::kTypeFile, caller);
  }
  return engine_->check(child.node, opens, existing, caller);
}

int FsState::apply_policy(const Call& call) {
  uint32_t opcode = call.in->opcode;
  AtomSource source = atom_source(opcode);
  // Bookkeeping requests may carry no node at all.
  if (source == AtomSource::kNone) return 0;
  Caller caller = caller_of(call);
  Inode* inode = node(call.in->nodeid);
  uint8_t type = type_bit(inode->type);
  switch (source) {
    case AtomSource::kNone:
      return 0;
    case AtomSource::kFixed:
      return engine_->check(inode->state, fixed_atoms(opcode), type, caller);
    case AtomSource::kByArgs: {
      ir::OpSet atoms = atoms_from_args(opcode, call.arg, call.arglen);
      if (int err = engine_->check(inode->state, atoms, type, caller)) return err;
      if (opcode != FUSE_COPY_FILE_RANGE) return 0;
      const auto* in = call.args<fuse_copy_file_range_in>();
      if (in == nullptr) return EINVAL;
      Inode* target = node(in->nodeid_out);
      return engine_->check(target->state, ir::bit(ir::Op::kWrite), type_bit(target->type),
                            caller);
    }
    case AtomSource::kByName:
      return check_named(call, inode, caller);
  }
  return 0;
}

// Requests on a name in the node's directory: the name must be a proper
// NUL-terminated string inside the argument, else the handler refuses it.
namespace {

// The name a request on a directory is about (the source of a rename, the
// new name of a link), the operation atom it does there and the file type
// it has when the request says so (else a file). The name must be a proper
// NUL-terminated string inside the argument; `name` is null otherwise, and
// the handler refuses the request.
struct Named {
  const char* name = nullptr;
  size_t head = 0;  // the fixed argument before the name
  ir::Op op = ir::Op::kCreate;
  uint8_t type = syntax::kTypeFile;
};

Named named(const Call& call) {
  using ir::Op;
  Named n;
  switch (call.in->opcode) {
    case FUSE_CREATE: n = {nullptr, sizeof(fuse_create_in), Op::kCreate, syntax::kTypeFile}; break;
    case FUSE_MKNOD:
      n = {nullptr, sizeof(fuse_mknod_in), Op::kCreate, syntax::kTypeFile};
      if (const auto* in = call.args<fuse_mknod_in>()) n.type = type_bit(in->mode);
      break;
    case FUSE_MKDIR: n = {nullptr, sizeof(fuse_mkdir_in), Op::kCreate, syntax::kTypeDir}; break;
    case FUSE_SYMLINK: n = {nullptr, 0, Op::kCreate, syntax::kTypeSymlink}; break;
    case FUSE_UNLINK: n = {nullptr, 0, Op::kDelete, syntax::kTypeFile}; break;
    case FUSE_RMDIR: n = {nullptr, 0, Op::kDelete, syntax::kTypeDir}; break;
    case FUSE_RENAME: n = {nullptr, sizeof(fuse_rename_in), Op::kRename, syntax::kTypeFile}; break;
    case FUSE_RENAME2: n = {nullptr, sizeof(fuse_rename2_in), Op::kRename, syntax::kTypeFile}; break;
    case FUSE_LINK: n = {nullptr, sizeof(fuse_link_in), Op::kLink, syntax::kTypeFile}; break;
    default: return n;
  }
  if (n.head < call.arglen) {
    const char* name = call.arg + n.head;
    size_t room = call.arglen - n.head;
    if (strnlen(name, room) < room) n.name = name;
  }
  return n;
}

}  // namespace

int FsState::check_named(const Call& call, Inode* dir, const Caller& caller) {
  using ir::Op;
  Named n = named(call);
  const char* name = n.name;
  if (name == nullptr) return 0;
  switch (call.in->opcode) {
    case FUSE_CREATE: {
      const auto* in = call.args<fuse_create_in>();
      return in == nullptr ? 0 : check_create(dir, name, in->flags, caller);
    }
    case FUSE_MKNOD:
    case FUSE_MKDIR:
    case FUSE_SYMLINK:
      return engine_->check_new(dir->state, name, n.op, n.type, caller);
    case FUSE_UNLINK:
    case FUSE_RMDIR: {
      Engine::Lookup child = engine_->lookup(dir->state, name, caller);
      if (child.error) return child.error;
      // The lower file's type only where a rule looks at it (a missing
      // name: the handler answers ENOENT).
      uint8_t type = n.type;
      if (engine_->type_matters(child.node) || engine_->places())
        type = view_type(dir, name, child);
      if (type == 0) return 0;
      if (int err = engine_->lookup_type(child.node, type, caller)) return err;
      return engine_->check(child.node, ir::bit(Op::kDelete), type, caller);
    }
    case FUSE_RENAME:
    case FUSE_RENAME2: {
      bool two = call.in->opcode == FUSE_RENAME2;
      uint64_t newdir = two ? call.args<fuse_rename2_in>()->newdir : call.args<fuse_rename_in>()->newdir;
      const char* from = name;
      size_t at = n.head + std::strlen(from) + 1;
      if (at >= call.arglen || strnlen(call.arg + at, call.arglen - at) == call.arglen - at) return 0;
      const char* to = call.arg + at;
      Engine::Lookup source = engine_->lookup(dir->state, from, caller);
      if (source.error) return source.error;
      uint8_t type = view_type(dir, from, source);
      if (type == 0) return 0;
      if (int err = engine_->lookup_type(source.node, type, caller)) return err;
      if (int err = engine_->check(source.node, ir::bit(Op::kRename), type, caller)) return err;
      if (int err = engine_->check_new(node(newdir)->state, to, Op::kRename, type, caller)) return err;
      // A node (and a directory's whole subtree) keeps the rules of its
      // name: moving it where other rules apply is refused as across file
      // systems (mv then copies, through the policy).
      if (!(engine_->lookup(node(newdir)->state, to, caller).node == source.node)) return EXDEV;
      return 0;
    }
    case FUSE_LINK: {
      const auto* in = call.args<fuse_link_in>();
      if (in == nullptr) return 0;
      Inode* target = link_source(in->oldnodeid);
      uint8_t type = type_bit(target->type);
      if (int err = engine_->check(target->state, ir::bit(Op::kLink), type, caller)) return err;
      if (int err = engine_->check_new(dir->state, name, Op::kLink, type, caller)) return err;
      // One node carries one set of rules: a link under a name the
      // policy treats otherwise is refused, as across file systems.
      if (!(engine_->lookup(dir->state, name, caller).node == target->state)) return EXDEV;
      return 0;
    }
    default:
      return 0;
  }
}

// What a request does, for the audit rules: the node (for a name, the
// child's state and path), its type and the operation atoms, as the
// checks above decode them; one record per audit rule that matches.
std::vector<AuditRecord> FsState::audit_records(const Call& call) {
  using ir::Op;
  std::vector<AuditRecord> out;
  uint32_t opcode = call.in->opcode;
  AtomSource source = atom_source(opcode);
  if (source == AtomSource::kNone) return out;
  Caller caller = caller_of(call);
  Inode* inode = node(call.in->nodeid);
  std::string path = view_path(inode);
  NodeState state = inode->state;
  uint8_t type = type_bit(inode->type);
  ir::OpSet atoms = 0;
  switch (source) {
    case AtomSource::kFixed:
      atoms = fixed_atoms(opcode);
      break;
    case AtomSource::kByArgs:
      atoms = atoms_from_args(opcode, call.arg, call.arglen);
      break;
    case AtomSource::kByName: {
      Named n = named(call);
      if (n.name == nullptr) return out;
      atoms = ir::bit(n.op);
      if (opcode == FUSE_LINK) {
        // Linking is done to the file the new name links to.
        const auto* in = call.args<fuse_link_in>();
        if (in == nullptr) return out;
        Inode* target = link_source(in->oldnodeid);
        path = view_path(target);
        state = target->state;
        type = type_bit(target->type);
      } else {
        state = engine_->lookup(inode->state, n.name, caller).node;
        path = (path == "/" ? "" : path) + "/" + n.name;
        type = n.type;
      }
      break;
    }
    case AtomSource::kNone:
      return out;
  }
  const ir::Policy& policy = engine_->policy();
  // The process name costs a /proc read: only for a request that is
  // recorded (caller_of already has it when a rule names processes).
  std::string comm;
  for (size_t op = 0; op < ir::kOpCount; ++op) {
    if (!(atoms & ir::bit(static_cast<Op>(op)))) continue;
    for (uint32_t rule : engine_->audit(state, static_cast<Op>(op), type, caller)) {
      const ir::Rule& r = policy.rules[rule];
      if (comm.empty()) comm = engine_->uses_comm() ? std::string(caller.comm) : caller_comm(*call.in);
      out.push_back(AuditRecord{std::string(ir::op_name(static_cast<Op>(op))), path, caller.uid,
                                caller.gid, call.in->pid, comm, 0, r.tag, r.where.str()});
    }
  }
  return out;
}

}  // namespace fspol::runtime
