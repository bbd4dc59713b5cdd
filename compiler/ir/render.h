#pragma once
// The one text form of rewrites and conditions, shared by the IR printer,
// ir_eval's steps and `fsc explain`:
//   mode & 0660 | 0000    uid = 1000    gid += 100000
//   uid map { 1000..1999 -> 2000..2999 }    mtime = 0
//   uid in 10000..19999 or comm == "mediaprovider"

#include <string>

#include "ir/ir.h"

namespace fspol::ir {

// One field of a rewrite ("uid = 1000"); "" when the rewrite leaves it.
std::string attr_field_text(const AttrRewrite& rewrite, AttrField field);
// Every field the rewrite sets, ", "-separated, in AttrField order.
std::string attr_text(const AttrRewrite& rewrite);
std::string condition_text(const Condition& condition);

}  // namespace fspol::ir
