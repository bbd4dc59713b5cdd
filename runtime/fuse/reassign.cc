// `fsrun reload` in fuse-bpf mode: the kernel's nodes get the program sets
// of their states under the new policy (docs/runtime.md, "Live reload").
//
// The kernel gives every node the set its parent's lookup chose, and keeps
// it. After a reload the daemon lists the nodes the kernel holds
// (FUSE_DEV_IOC_BPF_NODES: node id, mode, current set, one name and its
// directory's node id), decides each one's state from the root down by
// its name (Engine::restate, as for the daemon's own nodes) and tells the
// kernel the sets that change (FUSE_DEV_IOC_BPF_ASSIGN). A node the new
// policy hides from every caller, one no set serves, or one without a name
// (unlinked, reached through open files only) is made bad: it fails every
// operation, and a lookup of its name starts afresh.
//
// An operation that began under the old sets may still attach an old set
// to a new node; the assignment returns once every such operation has
// ended, so listing again finds those nodes. Rounds go on until a listing
// needs no change (in practice the second).
#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "fuse/fs.h"
#include "fuse/kernel_nodes.h"
#include "fuse/session.h"
#include "fuse_bpf_abi.h"

namespace fspol::runtime {

Result<std::string> FsState::reassign_kernel_sets() {
  constexpr int kRounds = 8;
  auto start = std::chrono::steady_clock::now();
  std::unordered_set<uint64_t> changed, bad;  // node ids, over every round
  size_t seen = 0;
  for (int round = 1; round <= kRounds; ++round) {
    uint32_t count = 0;
    auto listing = session_->bpf_nodes(count);
    if (!listing) return listing.error();
    std::vector<KernelNode> nodes = parse_kernel_nodes(*listing, count);
    std::unordered_map<uint64_t, size_t> index;
    for (size_t i = 0; i < nodes.size(); ++i) index.emplace(nodes[i].id, i);

    // States from the root down; `decided` -1: no state (gone, nameless,
    // or below such a node).
    std::vector<NodeState> state(nodes.size());
    std::vector<int8_t> decided(nodes.size(), 0);  // 0 not yet, 1 known, -1 none
    auto decide = [&](size_t i) {
      std::vector<size_t> path;
      for (size_t at = i; decided[at] == 0;) {
        path.push_back(at);
        const KernelNode& n = nodes[at];
        if (n.id == FUSE_ROOT_ID) break;
        auto up = index.find(n.parent);
        if (n.parent == 0 || up == index.end() || path.size() > nodes.size()) break;
        at = up->second;
      }
      for (auto it = path.rbegin(); it != path.rend(); ++it) {
        size_t at = *it;
        if (decided[at] != 0) continue;
        const KernelNode& n = nodes[at];
        if (n.id == FUSE_ROOT_ID) {
          state[at] = engine_->trivial() ? NodeState{} : engine_->root();
          decided[at] = 1;
          continue;
        }
        auto up = index.find(n.parent);
        if (n.parent == 0 || up == index.end() || decided[up->second] != 1 ||
            (nodes[up->second].flags & FUSE_BPF_NODE_BAD)) {
          decided[at] = -1;
          continue;
        }
        state[at] = engine_->restate(state[up->second], n.name, type_bit(n.mode));
        decided[at] = state[at].gone ? -1 : 1;
      }
    };

    std::vector<fuse_bpf_assign> changes;
    for (size_t i = 0; i < nodes.size(); ++i) {
      const KernelNode& n = nodes[i];
      if (!(n.flags & FUSE_BPF_NODE_BACKED) || (n.flags & FUSE_BPF_NODE_BAD)) continue;
      decide(i);
      fuse_bpf_assign a{};
      a.nodeid = n.id;
      const KernelSet* set = decided[i] == 1 ? kernel_set_of(state[i], type_bit(n.mode)) : nullptr;
      if (set == nullptr) {
        a.action = FUSE_BPF_ASSIGN_BAD;
      } else if (set->name == n.set && set->state == n.state) {
        continue;
      } else if (set->name.empty()) {
        a.action = FUSE_BPF_ASSIGN_REMOVE;
      } else {
        a.action = FUSE_BPF_ASSIGN_SET;
        a.state = set->state;
        std::memcpy(a.set, set->name.data(), std::min(set->name.size(), sizeof a.set - 1));
      }
      changes.push_back(a);
    }
    if (round == 1) seen = nodes.size();
    if (changes.empty()) {
      for (uint64_t id : bad) changed.erase(id);
      return std::to_string(seen) + " nodes the kernel holds: " + std::to_string(changed.size()) +
             " given the new policy's program sets, " + std::to_string(bad.size()) +
             " failing from now on (hidden from every caller, or without a name); settled in " +
             std::to_string(round) + (round == 1 ? " round, " : " rounds, ") +
             std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::steady_clock::now() - start)
                                .count()) +
             " ms";
    }
    if (round == kRounds) {
      // Fail closed: a node still running an old set would apply the old
      // policy; made bad, its name is looked up afresh under the new one.
      for (fuse_bpf_assign& a : changes) a = fuse_bpf_assign{a.nodeid, FUSE_BPF_ASSIGN_BAD, 0, {}};
    }
    auto done = session_->bpf_assign(changes);
    if (!done) return done.error();
    for (const fuse_bpf_assign& a : changes) {
      (a.action == FUSE_BPF_ASSIGN_BAD ? bad : changed).insert(a.nodeid);
    }
  }
  return Error{EBUSY, "the kernel's nodes kept changing under " + std::to_string(kRounds) +
                          " rounds of reassignment; those still on an old set now fail (looked "
                          "up again, they get the new policy's)"};
}

}  // namespace fspol::runtime
