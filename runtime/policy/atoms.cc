#include "policy/atoms.h"

namespace fspol::runtime {

namespace {

constexpr uint64_t kNoAtoms = 1ULL << 40;
constexpr uint64_t kByArgs = 1ULL << 41;
constexpr uint64_t kByName = 1ULL << 42;
#define ATOM(x) ir::bit(ir::Op::x)

uint64_t column(uint32_t opcode) {
  switch (opcode) {
#define FSPOL_REQUEST_ATOMS(opcode, atoms) \
  case opcode:                             \
    return atoms;
#include "ir/request_atoms.def"
    default:
      return kNoAtoms;
  }
}

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

// The rows of ir/arg_atoms.def, compiled.
ir::OpSet open_atoms(uint32_t v) {
  ir::OpSet out = 0;
#define FSPOL_ARG_ATOM(opcode, type, field, atom, predicate) \
  if ((opcode) == FUSE_OPEN && (predicate)) out |= ir::bit(ir::Op::atom);
#include "ir/arg_atoms.def"
  return out;
}

ir::OpSet atoms_from_args(uint32_t opcode, const void* arg, size_t arglen) {
  if (opcode == FUSE_COPY_FILE_RANGE) return ir::bit(ir::Op::kRead);
  ir::OpSet out = 0;
#define FSPOL_ARG_ATOM(op, type, field, atom, predicate)  \
  if (opcode == (op) && arglen >= sizeof(type)) {         \
    uint32_t v = static_cast<const type*>(arg)->field;    \
    if (predicate) out |= ir::bit(ir::Op::atom);          \
  }
#include "ir/arg_atoms.def"
  return out;
}

}  // namespace fspol::runtime
