#pragma once
// A C header for programs that load a policy's fuse_ops program sets
// themselves (the skeleton, in the spirit of `bpftool gen skeleton`): the
// object embedded as bytes, the names of its program sets, and
// open-and-load / attach / destroy over libbpf.
//
//   struct fsp_media s = {0};
//   if (fsp_media__open_and_load(&s) || fsp_media__attach(&s)) ...
//   mount with root_bpf=fsp_media_set_names[0] ...; fsp_media__destroy(&s);

#include <string>
#include <string_view>

#include "ir/ir.h"
#include "plan/plan.h"

namespace fspol::codegen {

// `object` is the fuse_ops object built from the same plan.
std::string emit_skeleton(const ir::Policy& policy, const plan::Plan& plan, std::string_view object);

}  // namespace fspol::codegen
