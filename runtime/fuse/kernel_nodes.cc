// What the daemon reads of the nodes a fuse-bpf kernel holds
// (FUSE_DEV_IOC_BPF_NODES), and a link of a file it was never told about.
//
// A set tracked for its directories only (docs/bpf.md) leaves its files'
// lookups in the kernel: the daemon does not know them. A link is decided
// on the file it links to, so when one of those is the source the kernel
// sends its own node id. The daemon finds the node in the kernel's listing
// (its directory, which the daemon knows, and its name), learns it for
// that one request and decides, or links, as for its own nodes. Other
// unknown nodes (several levels down, gone) still answer EXDEV (ln fails).
#include "fuse/kernel_nodes.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cstring>

#include "fuse/credentials.h"
#include "fuse/fs.h"
#include "fuse/inode_table.h"
#include "fuse/session.h"
#include "fuse_bpf_abi.h"

namespace fspol::runtime {
namespace {

// The link source learnt for the request this thread serves.
struct Learnt {
  uint64_t id = 0;  // the kernel's node id
  Inode* inode = nullptr;
};
thread_local Learnt learnt;

}  // namespace

std::vector<KernelNode> parse_kernel_nodes(const std::vector<char>& buf, uint32_t count) {
  std::vector<KernelNode> nodes;
  size_t at = 0;
  for (uint32_t i = 0; i < count && at + sizeof(fuse_bpf_node) <= buf.size(); ++i) {
    fuse_bpf_node n;
    std::memcpy(&n, buf.data() + at, sizeof n);
    if (at + sizeof n + n.namelen > buf.size()) break;
    KernelNode k;
    k.id = n.nodeid;
    k.parent = n.parent;
    k.mode = n.mode;
    k.flags = n.flags;
    k.set.assign(n.set, strnlen(n.set, sizeof n.set));
    k.state = n.state;
    k.name.assign(buf.data() + at + sizeof n, n.namelen);
    nodes.push_back(std::move(k));
    at += (sizeof n + n.namelen + 7) & ~size_t{7};
  }
  return nodes;
}

FsState::KernelLinkSource::KernelLinkSource(FsState& fs, const Call& call) : fs_(fs) {
  if (!fs.filters_ || fs.session_ == nullptr || (call.in->opcode & FUSE_OPCODE_FILTER) != FUSE_LINK)
    return;
  const auto* in = call.args<fuse_link_in>();
  if (in == nullptr || !(in->oldnodeid & FUSE_BPF_NODEID_BASE) ||
      (call.in->nodeid & FUSE_BPF_NODEID_BASE)) {
    return;
  }
  inode_ = fs.learn_kernel_node(in->oldnodeid, call);
  if (inode_ != nullptr) learnt = Learnt{in->oldnodeid, inode_};
}

FsState::KernelLinkSource::~KernelLinkSource() {
  if (inode_ == nullptr) return;
  learnt = Learnt{};
  fs_.inodes_->forget(inode_, 1);
}

bool FsState::link_source_learnt(uint64_t id) const { return id != 0 && id == learnt.id; }

Inode* FsState::link_source(uint64_t id) {
  return id != 0 && id == learnt.id ? learnt.inode : node(id);
}

Inode* FsState::learn_kernel_node(uint64_t id, const Call& call) {
  // The lower directory is read as every request reads it: as the caller.
  if (act_as_caller(*call.in) != 0) return nullptr;
  uint32_t count = 0;
  auto listing = session_->bpf_nodes(count);
  if (!listing) return nullptr;
  for (const KernelNode& k : parse_kernel_nodes(*listing, count)) {
    if (k.id != id) continue;
    // Its directory must be one of the daemon's nodes.
    if (k.parent == 0 || (k.parent & FUSE_BPF_NODEID_BASE) || (k.flags & FUSE_BPF_NODE_BAD))
      return nullptr;
    Inode* parent = node(k.parent);
    Engine::Lookup l = engine_->lookup(parent->state, k.name, caller_of(call));
    if (l.error) return nullptr;
    Place place;
    if (locate(parent, k.name, l, 0, place) != 0) return nullptr;
    struct stat st {};
    if (::fstatat(place.dirfd, place.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return nullptr;
    if ((st.st_mode & S_IFMT) != (k.mode & S_IFMT)) return nullptr;
    return inodes_->learn(parent, place.link, st, place.state, handler_of(place.state, st, call),
                          place.anchor);
  }
  return nullptr;
}

}  // namespace fspol::runtime
