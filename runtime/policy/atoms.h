#pragma once
// The one mapping from FUSE requests to the policy's operation atoms
// (operations.def; the table in docs/semantics.md). The per-opcode part is
// a column of fuse_ops.def; the arguments decide the rest.

#include <linux/fuse.h>

#include <cstddef>
#include <cstdint>

#include "ir/types.h"

namespace fspol::runtime {

// How a request's atoms are found.
enum class AtomSource : uint8_t {
  kNone,    // LOOKUP (the engine's lookup) and bookkeeping
  kFixed,   // fixed_atoms()
  kByArgs,  // decoded from the arguments: atoms_from_args()
  kByName,  // on the child the request names (create, delete, rename, link)
};

AtomSource atom_source(uint32_t opcode);
ir::OpSet fixed_atoms(uint32_t opcode);

// The atoms of opening a file with open(2) `flags`: read/write by the
// access mode, truncate for O_TRUNC, exec for execve's open.
ir::OpSet open_atoms(uint32_t flags);

// OPEN: read/write by the access mode, truncate for O_TRUNC, exec for
// execve's open. SETATTR: chmod, chown, truncate, utimes by the fields
// set. ACCESS: read, write, exec by the mask (an existence test is
// stat). COPY_FILE_RANGE: read (its source; the target is checked apart).
ir::OpSet atoms_from_args(uint32_t opcode, const void* arg, size_t arglen);

}  // namespace fspol::runtime
