#pragma once
// The engine seam: how the runtime executes a policy.
//
// The engine reads the compiler's per-class decision tables (ir/decide.h)
// and nothing else: ir_eval is the definition, and the engine answers the
// same questions split the way a stacked file system meets them, the way
// fuse-bpf's pre- and postfilters do, so that a BPF plan's daemon
// placements map onto it one to one:
//
//   lookup        prefilter of LOOKUP: the child's node state (one DFA step
//                 per byte of the name), hides that hold for any type, the
//                 lower name (name maps)
//   lookup_type   postfilter of LOOKUP: hides filtered on the file type
//   check         the operation atoms a request decodes to (atoms.h), on a
//                 node: visibility, then access (first match per atom)
//   check_new     a name a request would create (CREATE, MKDIR, MKNOD,
//                 SYMLINK, the new name of LINK, the target of RENAME)
//   attr          every reply that carries attributes
//   dirent        every listed entry: shown or not, and its view name
//   cache         what the kernel may cache for a node
//   handler       the userspace handler of an operation, if any (a node
//                 whose reads a handler serves is its own FUSE node)
//   audit         the audit tags an operation records, with its result
//
// Every node carries a NodeState, set at lookup from its parent's: the
// path class and the conditional hides of its ancestors. Requests then
// cost a table lookup and, where a rule depends on the caller, a
// condition check: O(name length) per lookup, O(1) per other request,
// whatever the number of rules.
//
//   Engine engine(policy);
//   NodeState dir = engine.root();
//   auto child = engine.lookup(dir, "notes.txt", caller);
//   if (child.error) return child.error;
//   if (int err = engine.check(child.node, atoms, S_IFREG, caller)) return err;
//
// Placement (redirect rules) is decided per name, by the file type found
// there: `placements` lists where a name may live, `placement` says which
// of them holds an object of a given type (fs.h, FsState::locate).

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fspol/result.h"
#include "ir/ir.h"
#include "ir/ir_eval.h"

namespace fspol::runtime {

// Who asks: fsuid, fsgid and process name (ir_eval's Caller).
using Caller = ir::Caller;

// What a node remembers. Below a directory that a conditional hide rule
// hides, everything is hidden from the callers the rule applies to:
// `hidden_above` holds those rules (bit i: Engine::ancestor_hides()[i]).
//
// Case folding: `folded` says the node is inside a casefold subtree (its
// children's names are matched ignoring case, in lower case); on the way
// to one, `fold_along` holds the casefold roots (bit i:
// Policy::casefold_roots[i]) whose first `fold_depth` components the
// node's path matched, ignoring case.
//
// Placement: `placed` is the redirect serving the node's subtree (rule id
// + 1; 0: the main lower root, where no redirect applies).
//
// `gone`: hidden from every caller, below too. Only a reload sets it (on
// a node the kernel still holds that the new policy hides).
struct NodeState {
  uint32_t cls = 0;
  uint32_t placed = 0;
  bool gone = false;
  uint64_t hidden_above = 0;
  uint64_t fold_along = 0;
  uint16_t fold_depth = 0;
  bool folded = false;
  bool operator==(const NodeState&) const = default;
};

// The view's attributes of a node, as the engine rewrites them.
struct Attr {
  uint32_t mode = 0;  // with the S_IFMT bits
  uint32_t uid = 0;
  uint32_t gid = 0;
  int64_t atime = 0, mtime = 0, ctime = 0;  // seconds; nanoseconds are the caller's to keep
  bool atime_set = false, mtime_set = false, ctime_set = false;  // rewritten
};

class Engine {
 public:
  // Fails when the policy has more conditional directory hides, or more
  // casefold roots, than a node can track (64 each).
  static Result<std::unique_ptr<Engine>> create(std::shared_ptr<const ir::Policy> policy);

  // True for a policy without rules: nothing to decide anywhere.
  bool trivial() const { return trivial_; }
  const ir::Policy& policy() const { return *policy_; }
  NodeState root() const { return root_; }

  struct Lookup {
    int error = 0;  // ENOENT: hidden
    NodeState node;
    std::string lower_name;  // the name on the lower side (of a directory, where
                             // names_typed: see lower_names)
    // The name is matched ignoring ASCII case (casefold): the lower
    // directory may spell it otherwise.
    bool folded = false;
  };
  Lookup lookup(const NodeState& parent, std::string_view name, const Caller& caller) const;
  // The state of the child `name` (a view name) of `parent` for a node
  // of `type` the kernel already holds, whoever asks: what a reload gives
  // the nodes it keeps. Hides that hold for every caller make it `gone`;
  // the others stay conditions, checked per request.
  NodeState restate(const NodeState& parent, std::string_view name, uint8_t type) const;
  // 0, or ENOENT when a hide rule filtered on this type hides the node.
  int lookup_type(const NodeState& node, uint8_t type, const Caller& caller) const;

  // 0, or the errno that ends a request doing `atoms` on a node of `type`.
  int check(const NodeState& node, ir::OpSet atoms, uint8_t type, const Caller& caller) const;
  // For a name `name` in `dir` that `op` (create, rename, link) would
  // make: EACCES when it is hidden, else the access decision of `op` on
  // it (create for create and link).
  int check_new(const NodeState& dir, std::string_view name, ir::Op op, uint8_t type,
                const Caller& caller) const;

  void attr(const NodeState& node, uint8_t type, const Caller& caller, Attr& attr) const;
  // chown through the view: the lower ids that show as `uid` and `gid`
  // (each only when `set_*`), rewritten in place; -1 leaves the lower id
  // as it is (every lower id shows as the one asked for). EPERM when no
  // lower id shows as the one asked for.
  int lower_ids(const NodeState& node, uint8_t type, const Caller& caller, bool set_uid,
                uint32_t& uid, bool set_gid, uint32_t& gid) const;
  // A lower entry `lower_name` of `dir` in a listing: false when hidden
  // from the caller (`unnamed`, if given, says when because no view name
  // maps to it); else `view_name` is how the view shows it.
  bool dirent(const NodeState& dir, std::string_view lower_name, uint8_t type,
              const Caller& caller, std::string& view_name, bool* unnamed = nullptr) const;

  // What the kernel may keep for a node: names when no rule deciding
  // there depends on the caller; attributes also only when no rule denies
  // `stat` there (the kernel answers stat(2) from cached attributes).
  struct Cache {
    bool entry = true;
    bool attr = true;
  };
  Cache cache(const NodeState& node) const;

  // Whether a rename rule maps names somewhere (else view names are the
  // lower names everywhere).
  bool maps_names() const { return maps_names_; }
  // Whether a casefold rule folds names somewhere.
  bool folds() const { return !fold_roots_.empty(); }
  // The view name of the lower name `lower` of a node of `node`'s state
  // and `type` (the inverse of lower_name; name maps are one-to-one).
  std::string view_name(const NodeState& node, std::string_view lower, uint8_t type) const;
  // Whether a name map of the node's class is filtered on file types: the
  // lower name of a view name then depends on what it names.
  bool names_typed(const NodeState& node) const { return class_typed_names_[node.cls]; }
  // The lower name of the view name `view` for an object of `type` (the
  // first name map for that type, as ir_eval maps it).
  std::string lower_name(const NodeState& node, std::string_view view, uint8_t type) const;
  // Every lower name `view` may have, with the types each serves: an
  // object found under one counts only if its type is among them.
  std::vector<std::pair<std::string, uint8_t>> lower_names(const NodeState& node,
                                                           std::string_view view) const;

  // Whether a directory of this state lists its lower entries as they are
  // for every caller: no rule can hide or rename one of its children, nor
  // hide the directory itself, and no name in it is folded.
  bool lists_as_is(const NodeState& dir) const {
    return trivial_ || (class_lists_as_is_[dir.cls] && dir.hidden_above == 0 && !dir.gone &&
                        !dir.folded && dir.fold_along == 0);
  }
  // Whether a listing may differ from its lower directory's (a hide, a
  // name map, a casefold or a redirect rule): then a directory's st_nlink
  // would count subdirectories the view does not show.
  bool reshapes_listings() const { return reshapes_listings_; }
  // Whether a redirect rule places something somewhere.
  bool places() const { return places_; }
  // The redirect that starts at a node of `child`'s state (from lookup,
  // `placed` still its parent's) for an object of `type`: its rule id + 1,
  // or 0 when the node stays where its parent's names are.
  uint32_t placement(const NodeState& child, uint8_t type) const;
  // Every value placement() can take for `child` over all types, in the
  // order a lookup tries them (redirects in rule order, then 0).
  std::vector<uint32_t> placements(const NodeState& child) const;
  // Where the redirect `placed` (rule id + 1) serves a path from: the
  // lower root's name and the path's components beneath it
  // (ir::redirect_target).
  const std::string& target_root(uint32_t placed) const {
    return policy_->rules[placed - 1].target_root;
  }
  std::vector<std::string> target(uint32_t placed, const std::vector<std::string>& view,
                                  const std::vector<std::string>& lower) const;
  // Where redirects can bring the children of a directory from (its path:
  // view and lower names), for its listing: a redirect (rule id + 1) and
  // either the target directory whose entries may show there, or the one
  // name its selectors spell out at that depth. Candidates only: each
  // name is then placed as a lookup places it.
  struct Feed {
    uint32_t placed = 0;
    std::vector<std::string> dir;
    std::string name;
    bool operator==(const Feed&) const = default;
  };
  std::vector<Feed> feeds(const NodeState& dir, const std::vector<std::string>& view,
                          const std::vector<std::string>& lower) const;

  // Whether a rule's condition names a process (comm): the caller's name
  // must then be read for every request.
  bool uses_comm() const { return uses_comm_; }

  // Whether every decision is the same for every caller (no rule has a
  // condition): then whatever the kernel keeps (a symlink's target, say)
  // may answer the next caller too.
  bool caller_independent() const { return caller_independent_; }

  // Whether directory listings are the same for every caller (no hide
  // rule depends on the caller), so the kernel may keep them.
  bool listings_caller_independent() const { return listings_caller_independent_; }

  // The `handle` rule serving `op` on a node for the caller: its rule id
  // + 1, or 0 when no handler serves it.
  uint32_t handler(const NodeState& node, ir::Op op, uint8_t type, const Caller& caller) const;
  // Whether a decision on a node depends on its file type (a hide or an
  // access rule filtered on types decides there); if not, the type need
  // not be read from the lower filesystem.
  bool type_matters(const NodeState& node) const { return class_typed_[node.cls]; }
  // Whether no rule can refuse `atoms` on the node, for any caller or
  // type: no hide of it or its ancestors, no access entry for them.
  bool decides_nothing(const NodeState& node, ir::OpSet atoms) const;
  // Whether any rule audits anything (then every request is looked at).
  bool audits() const { return audits_; }
  // The audit rules recording `op` (rule ids; empty: none).
  std::vector<uint32_t> audit(const NodeState& node, ir::Op op, uint8_t type,
                                      const Caller& caller) const;

  // The conditional directory hides a NodeState tracks, by bit.
  const std::vector<uint32_t>& ancestor_hides() const { return ancestor_hides_; }

 private:
  explicit Engine(std::shared_ptr<const ir::Policy> policy);
  bool holds(uint32_t rule, const Caller& caller) const;
  const ir::Entry* first(const std::vector<ir::Entry>& list, uint8_t type,
                         const Caller& caller) const;
  uint32_t child_class(uint32_t cls, std::string_view name) const;
  // lookup(); without a caller (restate), hides mark the node gone
  // instead of ending the lookup, and conditions are left to requests.
  Lookup walk(const NodeState& parent, std::string_view name, const Caller* caller) const;
  int hidden(const NodeState& node, uint8_t type, const Caller& caller) const;

  std::shared_ptr<const ir::Policy> policy_;
  bool trivial_ = true;
  NodeState root_;
  std::vector<std::vector<std::string>> fold_roots_;  // casefold roots, by component
  std::vector<uint32_t> ancestor_hides_;  // rule ids
  std::vector<int> hide_bit_;             // per rule: its bit, or -1
  std::vector<bool> class_caller_free_;   // per class: no conditional rule decides there
  std::vector<bool> class_stat_free_;     // per class: no rule denies stat
  std::vector<bool> class_typed_;         // per class: a hide or access entry has types
  std::vector<bool> class_typed_names_;   // per class: a name map has types
  std::vector<bool> class_lists_as_is_;   // per class: see lists_as_is
  bool listings_caller_independent_ = true;
  bool uses_comm_ = false;
  bool maps_names_ = false;
  bool places_ = false;
  bool reshapes_listings_ = false;
  std::vector<uint32_t> redirect_selectors_;  // the selectors of redirect rules
  bool caller_independent_ = true;
  bool audits_ = false;
};

}  // namespace fspol::runtime
