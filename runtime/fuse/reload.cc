// `fsrun reload`: a new policy for a live mount (docs/runtime.md, "Live
// reload").
//
// Between requests (the policy lock, exclusive), every node the kernel
// holds gets its state under the new policy from its name and its
// parent's new state (Engine::restate: a node the new policy hides from
// every caller is gone, and so is everything below it); then the kernel
// is told to forget every name and attribute it cached, so its next
// requests reach the new tables. A policy whose redirect or handle rules
// differ is refused: they decide which lower object, or which contents, a
// node stands for, which the nodes the kernel holds cannot change.
#include <linux/fuse.h>
#include <sys/stat.h>

#include <cerrno>
#include <ctime>
#include <string>
#include <utility>
#include <vector>

#include "fspol/runtime/runtime.h"
#include "fuse/fs.h"
#include "ir/ir.h"
#include "log.h"

namespace fspol::runtime {
namespace {

// The rules that decide what a node stands for, as text (equal text:
// equal meaning).
std::string identity_rules(const ir::Policy& policy) {
  std::string out;
  for (const ir::Rule& r : policy.rules) {
    if (r.kind != syntax::RuleKind::kRedirect && r.kind != syntax::RuleKind::kHandle) continue;
    out += std::string(syntax::rule_keyword(r.kind)) + " " + std::to_string(r.ops) + " " +
           r.handler + " " + r.target_root + ":" + r.target_path;
    for (uint32_t s : r.selectors) {
      out += " " + std::to_string(policy.selectors[s].types) + policy.selectors[s].pattern;
    }
    out += "\n";
  }
  for (const ir::Lower& l : policy.lowers) out += "lower " + l.name + " " + l.path + "\n";
  return out;
}

// Rule id + 1 of each redirect and handle rule in `from`, to that of the
// same rule in `to` (their texts are equal: the same rules in the same
// order, other rules may sit between them); 0 stays 0.
std::vector<uint32_t> identity_ids(const ir::Policy& from, const ir::Policy& to) {
  auto ids = [](const ir::Policy& p) {
    std::vector<uint32_t> out;
    for (const ir::Rule& r : p.rules) {
      if (r.kind == syntax::RuleKind::kRedirect || r.kind == syntax::RuleKind::kHandle) {
        out.push_back(r.id + 1);
      }
    }
    return out;
  };
  std::vector<uint32_t> old_ids = ids(from), new_ids = ids(to);
  std::vector<uint32_t> map(from.rules.size() + 1, 0);
  for (size_t i = 0; i < old_ids.size() && i < new_ids.size(); ++i) map[old_ids[i]] = new_ids[i];
  return map;
}

}  // namespace

Result<std::string> FsState::reload(std::shared_ptr<const Policy> next,
                                    std::vector<KernelSet> kernel_sets) {
  const Engine& now = *engine_;
  const Engine& after = *next->engine;
  if (identity_rules(now.policy()) != identity_rules(after.policy())) {
    return Error{EINVAL,
                 "the new policy's redirect or handle rules (or lower roots) differ from "
                 "the mounted one's; they decide what a node stands for, so changing them "
                 "needs a remount"};
  }
  bool keeps_symlinks = session_ != nullptr && (session_->conn().flags & FUSE_CACHE_SYMLINKS);
  if (keeps_symlinks && !after.caller_independent() && !after.trivial()) {
    return Error{EINVAL,
                 "the view was mounted with a policy that decides the same for every "
                 "caller, so the kernel keeps symlink targets for all of them; a policy "
                 "with conditions needs a remount"};
  }
  timespec deadline{};
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += 5;
  if (int err = pthread_rwlock_timedwrlock(&policy_lock_, &deadline); err != 0) {
    return Error{err == ETIMEDOUT ? EBUSY : err,
                 "requests in flight did not finish within 5 s (a lower file system that does not "
                 "answer?); the old policy keeps serving"};
  }
  // Between requests: no handler runs, none starts.
  struct Name {
    uint64_t parent;
    std::string name;
  };
  std::vector<Name> names;
  std::vector<uint64_t> nodes;
  size_t restated = 0, gone = 0;
  Caller anyone{0, 0, {}};
  std::vector<uint32_t> same_rule = identity_ids(now.policy(), after.policy());
  inodes_->each_parent_first([&](Inode* node) {
    if (node == inodes_->root()) {
      node->state = after.trivial() ? NodeState{} : after.root();
      return;
    }
    for (const Link& l : node->links) {
      names.push_back(Name{inodes_->node_id(l.parent),
                           now.view_name(node->state, l.name, type_bit(node->type))});
    }
    nodes.push_back(inodes_->node_id(node));
    ++restated;
    if (node->links.empty()) {
      // Unlinked, reached through open handles only: no name to decide
      // on, so nothing more is served through the node itself.
      node->state = NodeState{};
      node->state.gone = true;
    } else {
      const Link& l = node->links.front();
      std::string view;
      after.dirent(l.parent->state, l.name, type_bit(node->type), anyone, view);
      uint32_t placed = node->state.placed;
      node->state = after.restate(l.parent->state, view, type_bit(node->type));
      node->state.placed = same_rule[placed];
    }
    node->handler = same_rule[node->handler];
    if (node->state.gone) ++gone;
  });
  size_t rules_before = policy_->rule_count, classes_before = now.policy().classes.size();
  policy_ = next.get();
  engine_ = next->engine.get();
  handled_.reset(next->handlers);
  reloaded_.push_back(std::move(next));
  if (filters_) kernel_sets_ = std::move(kernel_sets);
  Result<void> audit_opened;
  if (engine_->audits() && !audit_) {
    auto log = AuditLog::open(options_.audit_log.empty() ? "syslog" : options_.audit_log);
    if (log) {
      audit_ = std::move(*log);
    } else {
      audit_opened = log.error();
    }
  }
  pthread_rwlock_unlock(&policy_lock_);

  // The kernel forgets what it cached: names (its next lookups reach the
  // new tables) and attributes (rewritten under the new policy). Outside
  // the lock: an invalidation waits for the directory's lock, which a
  // process may hold while it waits for a reply.
  size_t invalidated = 0;
  if (session_ != nullptr) {
    for (const Name& n : names) invalidated += session_->notify_inval_entry(n.parent, n.name) == 0;
    for (uint64_t node : nodes) session_->notify_inval_inode(node, -1, 0);
  }
  std::string report = "reloaded " + policy_->name + " (" + policy_->path +
                       "): " + std::to_string(policy_->rule_count) + " rules (were " +
                       std::to_string(rules_before) + "), " +
                       std::to_string(engine_->policy().classes.size()) + " path classes (were " +
                       std::to_string(classes_before) + "); " + std::to_string(restated) +
                       " nodes the kernel holds re-decided, " + std::to_string(gone) +
                       " of them now hidden from every caller; " + std::to_string(invalidated) +
                       " cached names invalidated\n";
  if (!audit_opened) {
    report += "warning: no audit log: " + audit_opened.error().message + "\n";
  }
  log_info("%s", report.c_str());
  return report;
}

}  // namespace fspol::runtime
