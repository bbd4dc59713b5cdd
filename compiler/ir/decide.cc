// Per-class decision tables (decide.h): which rules can decide what, per
// path class, in resolution order.
#include "ir/decide.h"

#include <algorithm>

namespace fspol::ir {

namespace {

using syntax::Layer;
using syntax::RuleKind;

// Appends to a first-match list unless an earlier entry always decides.
void add_first(std::vector<Entry>& list, const Entry& e) {
  if (!list.empty() && list.back().always()) return;
  list.push_back(e);
}

ClassTable table_of(const Policy& policy, const PathClass& pc) {
  ClassTable t;
  for (const Match& m : pc.matches) {
    const Rule& rule = policy.rules[m.rule];
    Entry e{rule.id, m.types, rule.condition.has_value()};
    switch (syntax::rule_kind_info(rule.kind).layer) {
      case Layer::kVisibility:
        t.hidden.push_back(e);
        break;
      case Layer::kAccess:
        for (size_t op = 0; op < kOpCount; ++op) {
          if (rule.ops & bit(static_cast<Op>(op))) add_first(t.access[op], e);
        }
        break;
      case Layer::kAttributes:
        for (size_t f = 0; f < kAttrFieldCount; ++f) {
          if (sets(rule.attr, static_cast<AttrField>(f))) add_first(t.attr[f], e);
        }
        break;
      case Layer::kNames:
        if (rule.kind == RuleKind::kRename) add_first(t.names, e);
        break;  // casefold: Policy::casefold_roots, applied before matching
      case Layer::kPlacement:
        add_first(t.placement, e);
        break;
      case Layer::kUserspace:
        for (size_t op = 0; op < kOpCount; ++op) {
          if (rule.ops & bit(static_cast<Op>(op))) add_first(t.handler[op], e);
        }
        break;
      case Layer::kAudit:
        for (size_t op = 0; op < kOpCount; ++op) {
          if (rule.ops & bit(static_cast<Op>(op))) t.audit[op].push_back(e);
        }
        break;
    }
  }
  return t;
}

}  // namespace

std::vector<std::string> redirect_target(const Policy& policy, const Rule& rule,
                                         const std::vector<std::string>& view,
                                         const std::vector<std::string>& lower) {
  size_t keep = 0;
  for (uint32_t s : rule.selectors) {
    const std::vector<std::string>& prefix = policy.selectors[s].literal_components;
    if (prefix.size() > view.size()) continue;
    if (std::equal(prefix.begin(), prefix.end(), view.begin()))
      keep = std::max(keep, prefix.size());
  }
  std::vector<std::string> out = rule.target_components;
  out.insert(out.end(), lower.begin() + static_cast<ptrdiff_t>(std::min(keep, lower.size())),
             lower.end());
  return out;
}

std::string_view attr_field_name(AttrField field) {
  static constexpr std::string_view kNames[] = {"mode", "uid", "gid", "atime", "mtime", "ctime"};
  return kNames[static_cast<size_t>(field)];
}

bool sets(const AttrRewrite& a, AttrField field) {
  switch (field) {
    case AttrField::kMode: return a.mode.has_value();
    case AttrField::kUid: return a.uid.has_value();
    case AttrField::kGid: return a.gid.has_value();
    case AttrField::kAtime: return a.atime.has_value();
    case AttrField::kMtime: return a.mtime.has_value();
    case AttrField::kCtime: return a.ctime.has_value();
  }
  return false;
}

namespace {

// Applies a rename rule's maps one way: the first suffix map and the first
// prefix map whose `from` side fits replace it with their `to` side.
std::string map_name(const Rule& rule, std::string_view name_in, bool to_lower) {
  std::string name(name_in);
  bool suffix_done = false, prefix_done = false;
  for (const NameMap& m : rule.names) {
    const std::string& from = to_lower ? m.view : m.lower;
    const std::string& to = to_lower ? m.lower : m.view;
    if (m.suffix && !suffix_done && name.size() >= from.size() &&
        name.compare(name.size() - from.size(), from.size(), from) == 0) {
      name = name.substr(0, name.size() - from.size()) + to;
      suffix_done = true;
    } else if (!m.suffix && !prefix_done && name.compare(0, from.size(), from) == 0) {
      name = to + name.substr(from.size());
      prefix_done = true;
    }
  }
  return name;
}

}  // namespace

std::string lower_name(const Rule& rule, std::string_view view) { return map_name(rule, view, true); }
std::string view_name(const Rule& rule, std::string_view lower) { return map_name(rule, lower, false); }

std::vector<ClassTable> decide(const Policy& policy) {
  std::vector<ClassTable> tables;
  tables.reserve(policy.classes.size());
  for (const PathClass& pc : policy.classes) tables.push_back(table_of(policy, pc));
  return tables;
}

uint32_t rewrite_mode(const ModeRewrite& r, uint32_t mode) {
  return (mode & ~07777u) | ((mode & 07777u & r.and_mask) | r.or_mask);
}

uint32_t rewrite_id(const IdRewrite& r, uint32_t id) {
  switch (r.kind) {
    case IdRewrite::Kind::kSet:
      return r.value;
    case IdRewrite::Kind::kOffset: {
      int64_t v = int64_t{id} + r.offset;
      return v < 0 || v > 0xfffffffe ? 65534 : static_cast<uint32_t>(v);
    }
    case IdRewrite::Kind::kMap:
      for (const IdMapping& m : r.mappings) {
        if (id >= m.from.lo && id <= m.from.hi) return m.to.lo + (id - m.from.lo);
      }
      return id;
  }
  return id;
}

int64_t lower_id(const IdRewrite& r, uint32_t view) {
  switch (r.kind) {
    case IdRewrite::Kind::kSet:
      return view == r.value ? kKeepLowerId : kNoLowerId;
    case IdRewrite::Kind::kOffset: {
      int64_t lower = int64_t{view} - r.offset;
      if (lower < 0 || lower > 0xfffffffe) return kNoLowerId;
      return rewrite_id(r, static_cast<uint32_t>(lower)) == view ? lower : kNoLowerId;
    }
    case IdRewrite::Kind::kMap:
      for (const IdMapping& m : r.mappings) {
        if (view >= m.to.lo && view <= m.to.hi) return int64_t{m.from.lo} + (view - m.to.lo);
      }
      // An id the map moves elsewhere cannot show as itself.
      for (const IdMapping& m : r.mappings) {
        if (view >= m.from.lo && view <= m.from.hi) return kNoLowerId;
      }
      return view;
  }
  return kNoLowerId;
}

}  // namespace fspol::ir
