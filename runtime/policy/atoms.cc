#include "policy/atoms.h"

#include <fcntl.h>
#include <unistd.h>

namespace fspol::runtime {

namespace {

constexpr uint64_t kNoAtoms = 1ULL << 40;
constexpr uint64_t kByArgs = 1ULL << 41;
constexpr uint64_t kByName = 1ULL << 42;
#define ATOM(x) ir::bit(ir::Op::x)

uint64_t column(uint32_t opcode) {
  switch (opcode) {
#define FSPOL_FUSE_OP(opcode, name, atoms, as_caller) \
  case opcode:                                        \
    return atoms;
#include "fuse/fuse_ops.def"
    default:
      return kNoAtoms;
  }
}

// execve(2)'s open carries the kernel's __FMODE_EXEC.
constexpr uint32_t kExecOpen = 040;

}  // namespace

AtomSource atom_source(uint32_t opcode) {
  uint64_t c = column(opcode);
  if (c == kNoAtoms) return AtomSource::kNone;
  if (c == kByArgs) return AtomSource::kByArgs;
  if (c == kByName) return AtomSource::kByName;
  return AtomSource::kFixed;
}

ir::OpSet fixed_atoms(uint32_t opcode) {
  uint64_t c = column(opcode);
  return c >= kNoAtoms ? 0 : static_cast<ir::OpSet>(c);
}

ir::OpSet open_atoms(uint32_t flags) {
  using ir::Op;
  using ir::bit;
  if (flags & kExecOpen) return bit(Op::kExec);
  ir::OpSet out = 0;
  uint32_t mode = flags & O_ACCMODE;
  if (mode == O_RDONLY || mode == O_RDWR) out |= bit(Op::kRead);
  if (mode == O_WRONLY || mode == O_RDWR) out |= bit(Op::kWrite);
  if (flags & O_TRUNC) out |= bit(Op::kTruncate);
  return out;
}

ir::OpSet atoms_from_args(uint32_t opcode, const void* arg, size_t arglen) {
  using ir::Op;
  using ir::bit;
  switch (opcode) {
    case FUSE_OPEN:
      if (arglen < sizeof(fuse_open_in)) return 0;
      return open_atoms(static_cast<const fuse_open_in*>(arg)->flags);
    case FUSE_SETATTR: {
      if (arglen < sizeof(fuse_setattr_in)) return 0;
      uint32_t valid = static_cast<const fuse_setattr_in*>(arg)->valid;
      ir::OpSet out = 0;
      if (valid & FATTR_MODE) out |= bit(Op::kChmod);
      if (valid & (FATTR_UID | FATTR_GID)) out |= bit(Op::kChown);
      if (valid & FATTR_SIZE) out |= bit(Op::kTruncate);
      if (valid & (FATTR_ATIME | FATTR_MTIME | FATTR_ATIME_NOW | FATTR_MTIME_NOW)) {
        out |= bit(Op::kUtimes);
      }
      return out;
    }
    case FUSE_ACCESS: {
      if (arglen < sizeof(fuse_access_in)) return 0;
      uint32_t mask = static_cast<const fuse_access_in*>(arg)->mask;
      ir::OpSet out = 0;
      if (mask & R_OK) out |= bit(Op::kRead);
      if (mask & W_OK) out |= bit(Op::kWrite);
      if (mask & X_OK) out |= bit(Op::kExec);
      return out != 0 ? out : bit(Op::kStat);
    }
    case FUSE_COPY_FILE_RANGE:
      return bit(Op::kRead);
    default:
      return 0;
  }
}

}  // namespace fspol::runtime
