#include "policy/atoms.h"

#include "ir/request_atoms.h"

namespace fspol::runtime {

AtomSource atom_source(uint32_t opcode) {
  uint64_t c = ir::request_atoms(opcode);
  if (c == ir::kNoAtoms) return AtomSource::kNone;
  if (c == ir::kByArgs) return AtomSource::kByArgs;
  if (c == ir::kByName) return AtomSource::kByName;
  return AtomSource::kFixed;
}

ir::OpSet fixed_atoms(uint32_t opcode) {
  uint64_t c = ir::request_atoms(opcode);
  return c >= ir::kNoAtoms ? 0 : static_cast<ir::OpSet>(c);
}

ir::OpSet open_atoms(uint32_t flags) { return ir::arg_atoms(FUSE_OPEN, flags); }

ir::OpSet atoms_from_args(uint32_t opcode, const void* arg, size_t arglen) {
  if (opcode == FUSE_COPY_FILE_RANGE) return ir::bit(ir::Op::kRead);
  // The field a row of ir/arg_atoms.def decodes, read when present.
#define FSPOL_ARG_ATOM(op, type, field, atom, predicate)                  \
  if (opcode == (op)) {                                                   \
    if (arglen < sizeof(type)) return 0;                                  \
    return ir::arg_atoms(opcode, static_cast<const type*>(arg)->field);   \
  }
#include "ir/arg_atoms.def"
  return 0;
}

}  // namespace fspol::runtime
