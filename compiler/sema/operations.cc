#include "sema/operations.h"

#include <string>

namespace fspol::sema {

OpSet expand(syntax::Operation op) {
  using S = syntax::Operation;
  switch (op) {
    case S::kLookup: return bit(Op::kLookup);
    case S::kStat: return bit(Op::kStat);
    case S::kReaddir: return bit(Op::kReaddir);
    case S::kRead: return bit(Op::kRead);
    case S::kWrite: return bit(Op::kWrite);
    case S::kExec: return bit(Op::kExec);
    case S::kCreate: return bit(Op::kCreate);
    case S::kDelete: return bit(Op::kDelete);
    case S::kRenameOp: return bit(Op::kRename);
    case S::kLink: return bit(Op::kLink);
    case S::kChmod: return bit(Op::kChmod);
    case S::kChown: return bit(Op::kChown);
    case S::kTruncate: return bit(Op::kTruncate);
    case S::kUtimes: return bit(Op::kUtimes);
    case S::kSetattr:
      return bit(Op::kChmod) | bit(Op::kChown) | bit(Op::kTruncate) | bit(Op::kUtimes);
    case S::kXattrRead: return bit(Op::kXattrRead);
    case S::kXattrWrite: return bit(Op::kXattrWrite);
    case S::kXattr: return bit(Op::kXattrRead) | bit(Op::kXattrWrite);
    case S::kLock: return bit(Op::kLock);
    case S::kModify: return kModifyOps;
    case S::kAll: return kAllOps;
  }
  return 0;
}

}  // namespace fspol::sema
