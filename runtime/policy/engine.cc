// The engine seam (engine.h): the decision tables, executed per request.
#include "policy/engine.h"

#include <algorithm>
#include <cerrno>
#include <functional>
#include <tuple>

#include "ir/decide.h"
#include "syntax/path.h"

namespace fspol::runtime {

namespace {

using syntax::RuleKind;

constexpr uint8_t kDir = syntax::kTypeDir;
constexpr uint8_t kAnyType = syntax::kTypeAny;

bool applies_to(const ir::Entry& e, uint8_t type) { return e.types == 0 || (e.types & type); }

using ir::equal_folded;

}  // namespace

Result<std::unique_ptr<Engine>> Engine::create(std::shared_ptr<const ir::Policy> policy) {
  std::unique_ptr<Engine> engine(new Engine(std::move(policy)));
  if (engine->fold_roots_.size() > 64) {
    return Error{E2BIG, "the policy has " + std::to_string(engine->fold_roots_.size()) +
                            " casefold subtrees; the runtime tracks at most 64"};
  }
  if (engine->ancestor_hides_.size() > 64) {
    return Error{E2BIG, "the policy has " + std::to_string(engine->ancestor_hides_.size()) +
                            " hide rules that depend on the caller and can hide a directory; "
                            "the runtime tracks at most 64"};
  }
  return engine;
}

Engine::Engine(std::shared_ptr<const ir::Policy> policy) : policy_(std::move(policy)) {
  const ir::Policy& p = *policy_;
  trivial_ = p.rules.empty();
  hide_bit_.assign(p.rules.size(), -1);
  for (const std::string& root : p.casefold_roots) {
    fold_roots_.push_back(syntax::path_components(root));
    if (fold_roots_.back().empty()) root_.folded = true;  // casefold "/**"
    if (fold_roots_.size() <= 64) root_.fold_along |= uint64_t{1} << (fold_roots_.size() - 1);
  }
  if (root_.folded) root_.fold_along = 0;
  for (const ir::Rule& rule : p.rules) {
    if (rule.kind != RuleKind::kHide || !rule.condition) continue;
    listings_caller_independent_ = false;
    for (uint32_t s : rule.selectors) {
      uint8_t types = p.selectors[s].types;
      if (types != 0 && !(types & kDir)) continue;
      hide_bit_[rule.id] = static_cast<int>(ancestor_hides_.size());
      ancestor_hides_.push_back(rule.id);
      break;
    }
  }
  std::function<bool(const ir::Condition&)> names_comm = [&](const ir::Condition& c) {
    if (c.kind == ir::Condition::Kind::kCommIn) return true;
    for (const ir::Condition& o : c.operands) {
      if (names_comm(o)) return true;
    }
    return false;
  };
  for (const ir::Rule& rule : p.rules) {
    audits_ = audits_ || rule.kind == RuleKind::kAudit;
    maps_names_ = maps_names_ || rule.kind == RuleKind::kRename;
    places_ = places_ || rule.kind == RuleKind::kRedirect;
    // Hides, name maps, case folding and redirects: what a listing shows.
    syntax::Layer layer = syntax::rule_kind_info(rule.kind).layer;
    reshapes_listings_ = reshapes_listings_ || layer == syntax::Layer::kVisibility ||
                         layer == syntax::Layer::kNames || layer == syntax::Layer::kPlacement;
    if (rule.kind == RuleKind::kRedirect) {
      for (uint32_t s : rule.selectors) redirect_selectors_.push_back(s);
    }
    uses_comm_ = uses_comm_ || (rule.condition && names_comm(*rule.condition));
    caller_independent_ = caller_independent_ && !rule.condition;
  }
  class_caller_free_.assign(p.classes.size(), true);
  for (size_t c = 0; c < p.tables.size(); ++c) {
    const ir::ClassTable& t = p.tables[c];
    auto conditional = [](const std::vector<ir::Entry>& list) {
      for (const ir::Entry& e : list) {
        if (e.conditional) return true;
      }
      return false;
    };
    bool depends = conditional(t.hidden) || conditional(t.names) || conditional(t.placement);
    for (const auto& list : t.access) depends = depends || conditional(list);
    for (const auto& list : t.attr) depends = depends || conditional(list);
    for (const auto& list : t.handler) depends = depends || conditional(list);
    class_caller_free_[c] = !depends;
    auto typed = [](const std::vector<ir::Entry>& list) {
      for (const ir::Entry& e : list) {
        if (e.types != 0) return true;
      }
      return false;
    };
    bool by_type = typed(t.hidden);
    for (const auto& list : t.access) by_type = by_type || typed(list);
    class_typed_.push_back(by_type);
    class_typed_names_.push_back(typed(t.names));
    bool as_is = t.hidden.empty();
    for (uint32_t child : p.classes[c].children) {
      as_is = as_is && p.tables[child].hidden.empty() && p.tables[child].names.empty();
    }
    class_lists_as_is_.push_back(as_is);
    bool stat_denied = false;
    for (const ir::Entry& e : t.access[static_cast<size_t>(ir::Op::kStat)]) {
      stat_denied = stat_denied || p.rules[e.rule].kind != RuleKind::kAllow;
    }
    class_stat_free_.push_back(!stat_denied);
  }
}

bool Engine::holds(uint32_t rule, const Caller& caller) const {
  const ir::Rule& r = policy_->rules[rule];
  return !r.condition || ir::holds(*r.condition, caller);
}

const ir::Entry* Engine::first(const std::vector<ir::Entry>& list, uint8_t type,
                               const Caller& caller) const {
  return ir::first(list, type, [&](uint32_t rule) { return holds(rule, caller); });
}

uint32_t Engine::child_class(uint32_t cls, std::string_view name) const {
  const ir::Policy& p = *policy_;
  uint32_t state = p.dfa.run(p.classes[cls].state, name);
  state = p.dfa.step(state, '/');
  int32_t child = p.class_of_state[state];
  // Every state after a real name is a class ("." and ".." never come).
  return child >= 0 ? static_cast<uint32_t>(child) : cls;
}

// ENOENT when an ancestor's conditional hide applies to the caller, or
// the node's own hide (for its type) does; 0 otherwise.
int Engine::hidden(const NodeState& node, uint8_t type, const Caller& caller) const {
  if (node.gone) return ENOENT;
  for (uint64_t bits = node.hidden_above; bits != 0; bits &= bits - 1) {
    if (holds(ancestor_hides_[static_cast<size_t>(__builtin_ctzll(bits))], caller)) return ENOENT;
  }
  return first(policy_->tables[node.cls].hidden, type, caller) != nullptr ? ENOENT : 0;
}

Engine::Lookup Engine::lookup(const NodeState& parent, std::string_view name,
                              const Caller& caller) const {
  return walk(parent, name, &caller);
}

NodeState Engine::restate(const NodeState& parent, std::string_view name, uint8_t type) const {
  if (trivial_) return NodeState{};
  NodeState node = walk(parent, name, nullptr).node;
  for (const ir::Entry& e : policy_->tables[node.cls].hidden) {
    if (!e.conditional && applies_to(e, type)) node.gone = true;
  }
  return node;
}

Engine::Lookup Engine::walk(const NodeState& parent, std::string_view name,
                            const Caller* caller) const {
  Lookup out;
  out.lower_name = std::string(name);
  if (trivial_) return out;
  // A caller-free walk (restate) marks what a hide hides as gone.
  auto hide = [&] {
    if (caller != nullptr) out.error = ENOENT;
    out.node.gone = true;
    return caller != nullptr;
  };
  if (parent.gone && hide()) return out;
  // The parent's own directory hides cover its children.
  out.node.hidden_above = parent.hidden_above;
  out.node.placed = parent.placed;
  for (const ir::Entry& e : policy_->tables[parent.cls].hidden) {
    if (!applies_to(e, kDir)) continue;
    if (!e.conditional) {
      if (hide()) return out;
      continue;
    }
    out.node.hidden_above |= uint64_t{1} << hide_bit_[e.rule];
  }
  // The name the rules see: folded where a casefold root says so
  // (ir_eval.cc, canonicalize), matched in the lower directory ignoring
  // case.
  std::string canonical;
  std::string_view matched = name;
  if (parent.folded) {
    canonical = ir::folded(name);
    matched = canonical;
    out.node.folded = true;
    out.folded = true;
  } else if (parent.fold_along != 0) {
    const std::string* spelling = nullptr;
    for (uint64_t bits = parent.fold_along; bits != 0; bits &= bits - 1) {
      size_t r = static_cast<size_t>(__builtin_ctzll(bits));
      const std::vector<std::string>& parts = fold_roots_[r];
      if (parent.fold_depth >= parts.size() || !equal_folded(parts[parent.fold_depth], name)) continue;
      if (spelling == nullptr) spelling = &parts[parent.fold_depth];
      if (parts.size() == parent.fold_depth + 1u) {
        out.node.folded = true;
      } else {
        out.node.fold_along |= uint64_t{1} << r;
      }
    }
    if (spelling != nullptr) {
      matched = *spelling;
      out.folded = true;
    }
    if (out.node.folded) out.node.fold_along = 0;
    if (out.node.fold_along != 0) out.node.fold_depth = static_cast<uint16_t>(parent.fold_depth + 1);
  }
  out.node.cls = child_class(parent.cls, matched);
  // Hides that hold whatever the child's type is.
  if (caller != nullptr) {
    for (uint64_t bits = out.node.hidden_above; bits != 0; bits &= bits - 1) {
      if (holds(ancestor_hides_[static_cast<size_t>(__builtin_ctzll(bits))], *caller)) {
        out.error = ENOENT;
        return out;
      }
    }
  }
  for (const ir::Entry& e : policy_->tables[out.node.cls].hidden) {
    if (e.types == 0 && (!e.conditional || (caller != nullptr && holds(e.rule, *caller)))) {
      if (hide()) return out;
    }
  }
  // Name maps do not depend on the caller. Filtered on file types, they
  // give a name one lower name per type (lower_names); this is the one of
  // a directory, as every ancestor of a path is.
  out.lower_name = lower_name(out.node, name, kDir);
  return out;
}

std::string Engine::lower_name(const NodeState& node, std::string_view view, uint8_t type) const {
  for (const ir::Entry& e : policy_->tables[node.cls].names) {
    if (applies_to(e, type)) return ir::lower_name(policy_->rules[e.rule], view);
  }
  return std::string(view);
}

std::vector<std::pair<std::string, uint8_t>> Engine::lower_names(const NodeState& node,
                                                                 std::string_view view) const {
  std::vector<std::pair<std::string, uint8_t>> out;
  auto add = [&](std::string lower, uint8_t types) {
    for (auto& [name, served] : out) {
      if (name == lower) {
        served |= types;
        return;
      }
    }
    out.emplace_back(std::move(lower), types);
  };
  uint8_t covered = 0;
  for (const ir::Entry& e : policy_->tables[node.cls].names) {
    uint8_t types = e.types == 0 ? kAnyType : e.types;
    if ((types & ~covered) != 0)
      add(ir::lower_name(policy_->rules[e.rule], view), types & ~covered);
    covered |= types;
  }
  if (covered != kAnyType) add(std::string(view), static_cast<uint8_t>(kAnyType & ~covered));
  return out;
}

uint32_t Engine::placement(const NodeState& child, uint8_t type) const {
  if (!places_) return 0;
  // Redirects take no condition (sema): the first entry for the type decides.
  const ir::Entry* e =
      ir::first(policy_->tables[child.cls].placement, type, [](uint32_t) { return true; });
  if (e == nullptr || e->rule + 1 == child.placed) return 0;
  return e->rule + 1;
}

std::vector<uint32_t> Engine::placements(const NodeState& child) const {
  std::vector<uint32_t> out;
  if (!places_) return {0};
  bool stays = true;  // some type keeps the parent's placement
  for (const ir::Entry& e : policy_->tables[child.cls].placement) {
    uint32_t placed = e.rule + 1 == child.placed ? 0 : e.rule + 1;
    if (std::find(out.begin(), out.end(), placed) == out.end()) out.push_back(placed);
    if (e.types == 0) {
      stays = false;
      break;
    }
  }
  if (stays && std::find(out.begin(), out.end(), 0u) == out.end()) out.push_back(0);
  return out;
}

std::vector<std::string> Engine::target(uint32_t placed, const std::vector<std::string>& view,
                                        const std::vector<std::string>& lower) const {
  return ir::redirect_target(*policy_, policy_->rules[placed - 1], view, lower);
}

std::vector<Engine::Feed> Engine::feeds(const NodeState& dir, const std::vector<std::string>& view,
                                        const std::vector<std::string>& lower) const {
  std::vector<Feed> out;
  for (uint32_t s : redirect_selectors_) {
    uint32_t rule_id = policy_->selectors[s].rule;
    const std::vector<std::string>& prefix = policy_->selectors[s].literal_components;
    if (rule_id + 1 == dir.placed || prefix.size() > view.size() + 1) continue;
    size_t common = std::min(prefix.size(), view.size());
    if (!std::equal(prefix.begin(), prefix.begin() + static_cast<ptrdiff_t>(common),
                    view.begin())) {
      continue;
    }
    Feed feed{rule_id + 1, {}, {}};
    if (prefix.size() == view.size() + 1) {
      feed.name = prefix.back();
    } else {
      // A child no literal component spells: the target of "" (which no
      // path component is), less that name.
      std::vector<std::string> v = view, l = lower;
      v.emplace_back();
      l.emplace_back();
      feed.dir = ir::redirect_target(*policy_, policy_->rules[rule_id], v, l);
      feed.dir.pop_back();
    }
    if (std::find(out.begin(), out.end(), feed) == out.end()) out.push_back(std::move(feed));
  }
  return out;
}

std::string Engine::view_name(const NodeState& node, std::string_view lower, uint8_t type) const {
  if (trivial_ || !maps_names_) return std::string(lower);
  for (const ir::Entry& e : policy_->tables[node.cls].names) {
    if (applies_to(e, type)) return ir::view_name(policy_->rules[e.rule], lower);
  }
  return std::string(lower);
}

int Engine::lookup_type(const NodeState& node, uint8_t type, const Caller& caller) const {
  if (trivial_) return 0;
  if (node.gone) return ENOENT;
  return first(policy_->tables[node.cls].hidden, type, caller) != nullptr ? ENOENT : 0;
}

int Engine::check(const NodeState& node, ir::OpSet atoms, uint8_t type,
                  const Caller& caller) const {
  if (trivial_) return 0;
  if (int err = hidden(node, type, caller)) return err;
  const ir::ClassTable& t = policy_->tables[node.cls];
  for (size_t op = 0; op < ir::kOpCount; ++op) {
    if (!(atoms & ir::bit(static_cast<ir::Op>(op)))) continue;
    const ir::Entry* e = first(t.access[op], type, caller);
    if (e == nullptr) continue;
    const ir::Rule& rule = policy_->rules[e->rule];
    if (rule.kind != RuleKind::kAllow) return rule.errno_value;
  }
  return 0;
}

int Engine::check_new(const NodeState& dir, std::string_view name, ir::Op op, uint8_t type,
                      const Caller& caller) const {
  if (trivial_) return 0;
  // Below a hidden directory there is nothing, not even the directory.
  if (int err = hidden(dir, kDir, caller)) return err;
  const ir::ClassTable& t = policy_->tables[child_class(dir.cls, name)];
  // A hidden name: refused without saying whether it exists.
  if (first(t.hidden, type, caller) != nullptr) return EACCES;
  ir::Op decided = ir::destination_op(op);
  const ir::Entry* e = first(t.access[static_cast<size_t>(decided)], type, caller);
  if (e == nullptr) return 0;
  const ir::Rule& rule = policy_->rules[e->rule];
  return rule.kind == RuleKind::kAllow ? 0 : rule.errno_value;
}

void Engine::attr(const NodeState& node, uint8_t type, const Caller& caller, Attr& a) const {
  if (trivial_) return;
  const ir::ClassTable& t = policy_->tables[node.cls];
  for (size_t f = 0; f < ir::kAttrFieldCount; ++f) {
    const ir::Entry* e = first(t.attr[f], type, caller);
    if (e == nullptr) continue;
    const ir::AttrRewrite& r = policy_->rules[e->rule].attr;
    switch (static_cast<ir::AttrField>(f)) {
      case ir::AttrField::kMode:
        a.mode = ir::rewrite_mode(*r.mode, a.mode);
        break;
      case ir::AttrField::kUid: a.uid = ir::rewrite_id(*r.uid, a.uid); break;
      case ir::AttrField::kGid: a.gid = ir::rewrite_id(*r.gid, a.gid); break;
      case ir::AttrField::kAtime: a.atime = *r.atime; a.atime_set = true; break;
      case ir::AttrField::kMtime: a.mtime = *r.mtime; a.mtime_set = true; break;
      case ir::AttrField::kCtime: a.ctime = *r.ctime; a.ctime_set = true; break;
    }
  }
}

bool Engine::decides_nothing(const NodeState& node, ir::OpSet atoms) const {
  if (trivial_) return true;
  const ir::ClassTable& t = policy_->tables[node.cls];
  if (node.hidden_above != 0 || !t.hidden.empty()) return false;
  for (size_t op = 0; op < ir::kOpCount; ++op) {
    if ((atoms & ir::bit(static_cast<ir::Op>(op))) && !t.access[op].empty()) return false;
  }
  return true;
}

int Engine::lower_ids(const NodeState& node, uint8_t type, const Caller& caller, bool set_uid,
                      uint32_t& uid, bool set_gid, uint32_t& gid) const {
  if (trivial_) return 0;
  const ir::ClassTable& t = policy_->tables[node.cls];
  for (auto [field, set, id] : {std::tuple{ir::AttrField::kUid, set_uid, &uid},
                                std::tuple{ir::AttrField::kGid, set_gid, &gid}}) {
    if (!set) continue;
    const ir::Entry* e = first(t.attr[static_cast<size_t>(field)], type, caller);
    if (e == nullptr) continue;
    const ir::AttrRewrite& r = policy_->rules[e->rule].attr;
    int64_t lower = ir::lower_id(field == ir::AttrField::kUid ? *r.uid : *r.gid, *id);
    if (lower == ir::kNoLowerId) return EPERM;
    *id = lower == ir::kKeepLowerId ? static_cast<uint32_t>(-1) : static_cast<uint32_t>(lower);
  }
  return 0;
}

bool Engine::dirent(const NodeState& dir, std::string_view lower, uint8_t type,
                    const Caller& caller, std::string& view, bool* unnamed) const {
  view = std::string(lower);
  if (trivial_) return true;
  // The view name whose lower name this is: a map's view name when one
  // maps back to it (a lower name the identity also reaches is listed
  // under the map's name), else the name itself.
  Lookup l;
  bool found = false;
  // The lower name a lookup of `view` gives an object of this type.
  auto lower_of = [&](const Lookup& at, std::string_view view_name) {
    return class_typed_names_[at.node.cls] ? lower_name(at.node, view_name, type) : at.lower_name;
  };
  if (maps_names_) {
    for (const ir::Rule& rule : policy_->rules) {
      if (rule.kind != RuleKind::kRename) continue;
      std::string candidate = ir::view_name(rule, lower);
      if (candidate == lower) continue;
      l = lookup(dir, candidate, caller);
      if (lower_of(l, candidate) == lower) {
        view = std::move(candidate);
        found = true;
        break;
      }
    }
  }
  if (!found) {
    l = lookup(dir, view, caller);
    if (lower_of(l, view) != lower) {  // no view name reaches this lower name
      if (unnamed != nullptr) *unnamed = true;
      return false;
    }
  }
  return l.error == 0 && lookup_type(l.node, type, caller) == 0;
}

Engine::Cache Engine::cache(const NodeState& node) const {
  // A name matched ignoring case stands for every spelling: the kernel
  // keeps one per spelling, which a change through another would leave
  // stale.
  bool entry = class_caller_free_[node.cls] && node.hidden_above == 0 && !node.folded &&
               !node.gone && node.fold_along == 0;
  return Cache{entry, entry && class_stat_free_[node.cls]};
}

uint32_t Engine::handler(const NodeState& node, ir::Op op, uint8_t type,
                         const Caller& caller) const {
  if (trivial_) return 0;
  const ir::Entry* e = first(policy_->tables[node.cls].handler[static_cast<size_t>(op)], type, caller);
  return e == nullptr ? 0 : e->rule + 1;
}

std::vector<uint32_t> Engine::audit(const NodeState& node, ir::Op op, uint8_t type,
                                    const Caller& caller) const {
  std::vector<uint32_t> rules;
  for (const ir::Entry& e : policy_->tables[node.cls].audit[static_cast<size_t>(op)]) {
    if (applies_to(e, type) && holds(e.rule, caller)) rules.push_back(e.rule);
  }
  return rules;
}

}  // namespace fspol::runtime
