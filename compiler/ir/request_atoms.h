#pragma once
// What a FUSE request is to the policy: the operation atoms of its opcode
// (request_atoms.def) and of its argument (arg_atoms.def). The daemon,
// the BPF planner and the differential test read these two functions.

#include <cstdint>

#include "ir/types.h"

namespace fspol::ir {

// The atoms column of request_atoms.def: atoms, or one of these.
inline constexpr uint64_t kNoAtoms = 1ULL << 40;  // lookup and bookkeeping
inline constexpr uint64_t kByArgs = 1ULL << 41;   // arg_atoms()
inline constexpr uint64_t kByName = 1ULL << 42;   // on the child the request names
uint64_t request_atoms(uint32_t opcode);

// The atoms a kByArgs request decodes to from its argument field's value
// (open flags, setattr valid bits, access mask).
OpSet arg_atoms(uint32_t opcode, uint32_t v);

}  // namespace fspol::ir
