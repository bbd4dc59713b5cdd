#pragma once
// The nodes a fuse-bpf kernel holds, as FUSE_DEV_IOC_BPF_NODES lists them
// (kernel/include/fuse_bpf_abi.h): read by `fsrun reload` (reassign.cc)
// and by a link of a file the daemon was never told about (kernel_nodes.cc).

#include <cstdint>
#include <string>
#include <vector>

namespace fspol::runtime {

struct KernelNode {
  uint64_t id = 0;
  uint64_t parent = 0;  // its name's directory, 0: no name
  uint32_t mode = 0;
  uint16_t flags = 0;  // FUSE_BPF_NODE_*
  std::string set;     // its program set, "": none
  uint32_t state = 0;  // its state (profile node_states)
  std::string name;    // one of its names (a view name)
};

// The `count` records of a listing in `buf`.
std::vector<KernelNode> parse_kernel_nodes(const std::vector<char>& buf, uint32_t count);

}  // namespace fspol::runtime
