#include "ir/request_atoms.h"

#include <linux/fuse.h>

namespace fspol::ir {

uint64_t request_atoms(uint32_t opcode) {
#define ATOM(x) bit(Op::x)
  switch (opcode) {
#define FSPOL_REQUEST_ATOMS(opcode, atoms) \
  case opcode:                             \
    return atoms;
#include "ir/request_atoms.def"
    default:
      return kNoAtoms;
  }
#undef ATOM
}

OpSet arg_atoms(uint32_t opcode, uint32_t v) {
  OpSet out = 0;
#define FSPOL_ARG_ATOM(op, type, field, atom, predicate) \
  if (opcode == (op) && (predicate)) out |= bit(Op::atom);
#include "ir/arg_atoms.def"
  return out;
}

}  // namespace fspol::ir
