#include "ir/ir_printer.h"

#include <cstdio>
#include <map>
#include <sstream>

namespace fspol::ir {

namespace {

using syntax::RuleKind;

std::string interval_text(sema::Interval i) {
  return i.lo == i.hi ? std::to_string(i.lo) : std::to_string(i.lo) + ".." + std::to_string(i.hi);
}

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

std::string mode_text(const sema::ModeRewrite& m) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "mode & 0%03o | 0%03o", m.and_mask, m.or_mask);
  return buf;
}

}  // namespace

std::string type_text(uint8_t types) { return syntax::file_types_text(types); }

std::string condition_text(const sema::Condition& c) {
  using K = sema::Condition::Kind;
  auto set = [](const std::vector<sema::Interval>& ids) {
    if (ids.size() == 1) return interval_text(ids[0]);
    std::string out = "{";
    for (size_t i = 0; i < ids.size(); ++i) out += (i ? ", " : "") + interval_text(ids[i]);
    return out + "}";
  };
  auto operand = [](const sema::Condition& o) {
    bool compound = o.kind == K::kAnd || o.kind == K::kOr;
    return compound ? "(" + condition_text(o) + ")" : condition_text(o);
  };
  switch (c.kind) {
    case K::kTrue: return "true";
    case K::kFalse: return "false";
    case K::kNot: {
      const sema::Condition& o = c.operands.front();
      bool point = (o.kind == K::kUidIn || o.kind == K::kGidIn) && o.ids.size() == 1 &&
                   o.ids[0].lo == o.ids[0].hi;
      if (point) return (o.kind == K::kUidIn ? "uid != " : "gid != ") + std::to_string(o.ids[0].lo);
      if (o.kind == K::kCommIn && o.names.size() == 1) return "comm != " + quoted(o.names[0]);
      return "not " + operand(o);
    }
    case K::kAnd:
    case K::kOr: {
      std::string out;
      for (size_t i = 0; i < c.operands.size(); ++i) {
        out += (i ? (c.kind == K::kAnd ? " and " : " or ") : "") + operand(c.operands[i]);
      }
      return out;
    }
    case K::kUidIn:
    case K::kGidIn: {
      std::string field = c.kind == K::kUidIn ? "uid" : "gid";
      if (c.ids.size() == 1 && c.ids[0].lo == c.ids[0].hi) {
        return field + " == " + std::to_string(c.ids[0].lo);
      }
      return field + " in " + set(c.ids);
    }
    case K::kCommIn: {
      if (c.names.size() == 1) return "comm == " + quoted(c.names[0]);
      std::string out = "comm in {";
      for (size_t i = 0; i < c.names.size(); ++i) out += (i ? ", " : "") + quoted(c.names[i]);
      return out + "}";
    }
  }
  return "";
}

std::string rule_text(const Policy& policy, const Rule& rule) {
  std::string out(syntax::rule_keyword(rule.kind));
  bool show_ops = rule.kind == RuleKind::kDeny || rule.kind == RuleKind::kAllow ||
                  rule.kind == RuleKind::kHandle || rule.kind == RuleKind::kAudit;
  if (show_ops) out += " " + sema::op_set_text(rule.ops) + " on";
  for (size_t i = 0; i < rule.selectors.size(); ++i) {
    const Selector& s = policy.selectors[rule.selectors[i]];
    out += (i ? ", " : " ") + (s.types ? type_text(s.types) + " " : "") + quoted(s.pattern);
  }
  if (rule.kind == RuleKind::kRedirect) out += " to " + rule.target_root + " " + quoted(rule.target_path);
  if (rule.kind == RuleKind::kHandle) out += " with " + rule.handler;
  if (rule.kind == RuleKind::kDeny || rule.kind == RuleKind::kReadonly) out += " errno " + rule.errno_name;
  if (rule.kind == RuleKind::kAudit && !rule.tag.empty()) out += " tag " + quoted(rule.tag);
  if (rule.condition) out += " when " + condition_text(*rule.condition);
  const sema::AttrRewrite& a = rule.attr;
  if (rule.kind == RuleKind::kAttr) {
    std::vector<std::string> parts;
    if (a.mode) parts.push_back(mode_text(*a.mode));
    if (a.uid) parts.push_back("uid rewritten");
    if (a.gid) parts.push_back("gid rewritten");
    if (a.atime) parts.push_back("atime = " + std::to_string(*a.atime));
    if (a.mtime) parts.push_back("mtime = " + std::to_string(*a.mtime));
    if (a.ctime) parts.push_back("ctime = " + std::to_string(*a.ctime));
    out += " {";
    for (size_t i = 0; i < parts.size(); ++i) out += (i ? "; " : " ") + parts[i];
    out += " }";
  }
  if (rule.kind == RuleKind::kRename) {
    out += " {";
    for (const sema::NameMap& m : rule.names) {
      out += std::string(m.suffix ? " suffix " : " prefix ") + quoted(m.lower) + " -> " +
             quoted(m.view) + ";";
    }
    out += " }";
  }
  return out;
}

namespace {

// The decision list of one operation in one class: hide and access rules
// in order, up to the first entry that always applies.
std::string decision_list(const Policy& policy, const PathClass& pc, sema::Op op) {
  std::string out;
  bool closed = false;
  for (const Match& m : pc.matches) {
    const Rule& rule = policy.rules[m.rule];
    bool hide = rule.kind == RuleKind::kHide;
    bool access = (rule.kind == RuleKind::kDeny || rule.kind == RuleKind::kAllow ||
                   rule.kind == RuleKind::kReadonly) &&
                  (rule.ops & sema::bit(op));
    if (!hide && !access) continue;
    std::string entry;
    if (hide) {
      entry = op == sema::Op::kCreate ? "EACCES (hidden name)" : "ENOENT (hidden)";
    } else if (rule.kind == RuleKind::kAllow) {
      entry = "allow";
    } else {
      entry = rule.errno_name;
    }
    if (m.types) entry += " [" + type_text(m.types) + "]";
    if (rule.condition) entry += " when " + condition_text(*rule.condition);
    entry += " (rule " + std::to_string(rule.id) + ")";
    out += (out.empty() ? "" : "; ") + entry;
    if (!rule.condition && !m.types) {
      closed = true;
      break;
    }
  }
  if (!closed) out += std::string(out.empty() ? "" : "; ") + "allow";
  return out;
}

// The layers other than visibility and access: per attribute field, names,
// placement, handlers and audit, each as its first-match list.
void print_other_layers(std::ostream& out, const Policy& policy, const PathClass& pc) {
  auto entry = [&](const Match& m, const Rule& rule, const std::string& what) {
    std::string e = what;
    if (m.types) e += " [" + type_text(m.types) + "]";
    if (rule.condition) e += " when " + condition_text(*rule.condition);
    return e + " (rule " + std::to_string(rule.id) + ")";
  };
  auto layer = [&](const char* name, auto&& describe) {
    std::string line;
    for (const Match& m : pc.matches) {
      const Rule& rule = policy.rules[m.rule];
      std::string what = describe(rule);
      if (what.empty()) continue;
      line += (line.empty() ? "" : "; ") + entry(m, rule, what);
      if (!rule.condition && !m.types && std::string(name) != "audit") break;
    }
    if (!line.empty()) out << "  " << name << ": " << line << "\n";
  };
  char buf[64];
  layer("attr mode", [&](const Rule& r) {
    if (r.kind != RuleKind::kAttr || !r.attr.mode) return std::string();
    std::snprintf(buf, sizeof buf, "& 0%03o | 0%03o", r.attr.mode->and_mask, r.attr.mode->or_mask);
    return std::string(buf);
  });
  for (auto [field, name] : {std::pair{&sema::AttrRewrite::uid, "attr uid"},
                             std::pair{&sema::AttrRewrite::gid, "attr gid"}}) {
    layer(name, [&](const Rule& r) {
      if (r.kind != RuleKind::kAttr || !(r.attr.*field)) return std::string();
      const sema::IdRewrite& id = *(r.attr.*field);
      switch (id.kind) {
        case sema::IdRewrite::Kind::kSet: return "= " + std::to_string(id.value);
        case sema::IdRewrite::Kind::kOffset: return "+ " + std::to_string(id.offset);
        case sema::IdRewrite::Kind::kMap: return std::string("mapped");
      }
      return std::string();
    });
  }
  for (auto [field, name] : {std::pair{&sema::AttrRewrite::atime, "attr atime"},
                             std::pair{&sema::AttrRewrite::mtime, "attr mtime"},
                             std::pair{&sema::AttrRewrite::ctime, "attr ctime"}}) {
    layer(name, [&](const Rule& r) {
      if (r.kind != RuleKind::kAttr || !(r.attr.*field)) return std::string();
      return "= " + std::to_string(*(r.attr.*field));
    });
  }
  layer("names", [&](const Rule& r) {
    return r.kind == RuleKind::kRename ? std::string("mapped") : std::string();
  });
  layer("placement", [&](const Rule& r) {
    return r.kind == RuleKind::kRedirect ? r.target_root + ":" + r.target_path : std::string();
  });
  layer("userspace", [&](const Rule& r) {
    return r.kind == RuleKind::kHandle ? r.handler + " for " + sema::op_set_text(r.ops)
                                       : std::string();
  });
  layer("audit", [&](const Rule& r) {
    return r.kind == RuleKind::kAudit ? sema::op_set_text(r.ops) + (r.tag.empty() ? "" : " as " + r.tag)
                                      : std::string();
  });
}

}  // namespace

std::string print_ir(const Policy& policy) {
  std::ostringstream out;
  out << "policy " << policy.name << "\n";
  for (const Lower& l : policy.lowers) {
    out << "lower " << l.name << (l.path.empty() ? " (given at mount time)" : " " + quoted(l.path))
        << "\n";
  }
  for (const std::string& root : policy.casefold_roots) out << "casefold " << quoted(root) << "\n";
  const Stats& s = policy.stats;
  out << "stats: " << s.rules << " rules, " << s.selectors << " selectors, " << s.dfa.nfa_states
      << " NFA states, " << s.dfa.dfa_states << " DFA states (" << s.dfa.dfa_states_before_minimization
      << " before minimisation), " << s.dfa.input_classes << " input classes, " << s.path_classes
      << " path classes\n\n";

  for (const Rule& rule : policy.rules) {
    out << "rule " << rule.id << ": " << rule_text(policy, rule) << "\n  at " << rule.where.str();
    for (const SourceRef& via : rule.via) out << ", used at " << via.str();
    out << "\n";
  }
  for (size_t c = 0; c < policy.classes.size(); ++c) {
    const PathClass& pc = policy.classes[c];
    out << "\nclass " << c << " " << quoted(pc.example) << " (state " << pc.state << ")\n";
    if (pc.matches.empty()) {
      out << "  no rules: every operation is allowed\n";
      continue;
    }
    out << "  rules:";
    for (const Match& m : pc.matches) {
      out << " " << m.rule << " " << syntax::rule_keyword(policy.rules[m.rule].kind);
      if (m.types) out << "[" << type_text(m.types) << "]";
    }
    out << "\n";
    // Operations with the same decision list print together.
    std::map<std::string, std::string> by_list;
    std::vector<std::string> order;
    for (size_t i = 0; i < sema::kOpCount; ++i) {
      auto op = static_cast<sema::Op>(i);
      std::string list = decision_list(policy, pc, op);
      auto [it, inserted] = by_list.emplace(list, std::string(sema::op_name(op)));
      if (inserted) {
        order.push_back(list);
      } else {
        it->second += ", " + std::string(sema::op_name(op));
      }
    }
    for (const std::string& list : order) out << "  " << by_list[list] << ": " << list << "\n";
    print_other_layers(out, policy, pc);
  }
  return out.str();
}

}  // namespace fspol::ir
