#include "ir/ir_printer.h"

#include <cstdio>
#include <functional>
#include <map>
#include <sstream>

#include "ir/decide.h"

namespace fspol::ir {

namespace {

using syntax::RuleKind;

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

}  // namespace

std::string type_text(uint8_t types) { return syntax::file_types_text(types); }

std::string rule_text(const Policy& policy, const Rule& rule) {
  std::string out(syntax::rule_keyword(rule.kind));
  const syntax::RuleKindInfo& info = syntax::rule_kind_info(rule.kind);
  if (info.takes_ops) out += " " + op_set_text(rule.ops) + " on";
  for (size_t i = 0; i < rule.selectors.size(); ++i) {
    const Selector& s = policy.selectors[rule.selectors[i]];
    out += (i ? ", " : " ") + (s.types ? type_text(s.types) + " " : "") + quoted(s.pattern);
  }
  if (info.clauses & syntax::kClauseTo) out += " to " + rule.target_root + " " + quoted(rule.target_path);
  if (info.clauses & syntax::kClauseWith) out += " with " + rule.handler;
  if (info.clauses & syntax::kClauseErrno) out += " errno " + rule.errno_name;
  if ((info.clauses & syntax::kClauseTag) && !rule.tag.empty()) out += " tag " + quoted(rule.tag);
  if (rule.condition) out += " when " + condition_text(*rule.condition);
  if (rule.kind == RuleKind::kAttr) out += " { " + attr_text(rule.attr) + " }";
  if (rule.kind == RuleKind::kRename) {
    out += " {";
    for (const NameMap& m : rule.names) {
      out += std::string(m.suffix ? " suffix " : " prefix ") + quoted(m.lower) + " -> " +
             quoted(m.view) + ";";
    }
    out += " }";
  }
  return out;
}

namespace {

// One entry of a decision list: its effect, file types, condition, rule.
std::string entry_text(const Policy& policy, const Entry& e, const std::string& effect) {
  std::string out = effect;
  if (e.types) out += " [" + type_text(e.types) + "]";
  const Rule& rule = policy.rules[e.rule];
  if (rule.condition) out += " when " + condition_text(*rule.condition);
  return out + " (rule " + std::to_string(e.rule) + ")";
}

// The decision list of one operation in one class: visibility, then
// access, up to the first entry that always decides.
std::string decision_list(const Policy& policy, const ClassTable& t, Op op) {
  std::string out;
  auto add = [&](const Entry& e, const std::string& effect) {
    out += (out.empty() ? "" : "; ") + entry_text(policy, e, effect);
    return e.always();
  };
  for (const Entry& e : t.hidden) {
    if (add(e, op == Op::kCreate ? "EACCES (hidden name)" : "ENOENT (hidden)")) return out;
  }
  for (const Entry& e : t.access[static_cast<size_t>(op)]) {
    const Rule& rule = policy.rules[e.rule];
    if (add(e, rule.kind == RuleKind::kAllow ? "allow" : rule.errno_name)) return out;
  }
  return out + (out.empty() ? "" : "; ") + "allow";
}

// A first-match list of a layer other than visibility and access.
void print_list(std::ostream& out, const Policy& policy, const std::string& name,
                const std::vector<Entry>& list, const std::function<std::string(const Rule&)>& what) {
  std::string line;
  for (const Entry& e : list) {
    line += (line.empty() ? "" : "; ") + entry_text(policy, e, what(policy.rules[e.rule]));
  }
  if (!line.empty()) out << "  " << name << ": " << line << "\n";
}

// Handlers and audit: per rule, the operations it serves in this class.
void print_per_op(std::ostream& out, const Policy& policy, const std::string& name,
                  const std::array<std::vector<Entry>, kOpCount>& lists,
                  const std::function<std::string(const Rule&, OpSet)>& what) {
  std::map<std::pair<uint32_t, uint8_t>, OpSet> ops;
  for (size_t op = 0; op < kOpCount; ++op) {
    for (const Entry& e : lists[op]) ops[{e.rule, e.types}] |= bit(static_cast<Op>(op));
  }
  std::string line;
  for (const auto& [key, set] : ops) {
    Entry e{key.first, key.second, policy.rules[key.first].condition.has_value()};
    line += (line.empty() ? "" : "; ") + entry_text(policy, e, what(policy.rules[key.first], set));
  }
  if (!line.empty()) out << "  " << name << ": " << line << "\n";
}

void print_other_layers(std::ostream& out, const Policy& policy, const ClassTable& t) {
  for (size_t f = 0; f < kAttrFieldCount; ++f) {
    auto field = static_cast<AttrField>(f);
    print_list(out, policy, "attr", t.attr[f],
               [&](const Rule& r) { return attr_field_text(r.attr, field); });
  }
  print_list(out, policy, "names", t.names, [](const Rule& r) {
    std::string maps;
    for (const NameMap& m : r.names) {
      maps += std::string(maps.empty() ? "" : ", ") + (m.suffix ? "suffix " : "prefix ") +
              quoted(m.lower) + " -> " + quoted(m.view);
    }
    return maps;
  });
  print_list(out, policy, "placement", t.placement,
             [](const Rule& r) { return r.target_root + ":" + r.target_path; });
  print_per_op(out, policy, "userspace", t.handler, [](const Rule& r, OpSet ops) {
    return r.handler + " for " + op_set_text(ops);
  });
  print_per_op(out, policy, "audit", t.audit, [](const Rule& r, OpSet ops) {
    return op_set_text(ops) + (r.tag.empty() ? "" : " as " + r.tag);
  });
}

}  // namespace

std::string print_ir(const Policy& policy) {
  std::ostringstream out;
  out << "policy " << policy.name << "\n";
  out << "# per class: the decision list of every operation (first match), for a path with no\n"
         "# hidden ancestor; below a directory a hide rule hides, every request answers ENOENT\n";
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
    if (!pc.visible) {
      out << "  only below directories hidden from everyone: every request answers ENOENT\n";
      continue;
    }
    const ClassTable& t = policy.tables[c];
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
    for (size_t i = 0; i < kOpCount; ++i) {
      auto op = static_cast<Op>(i);
      std::string list = decision_list(policy, t, op);
      auto [it, inserted] = by_list.emplace(list, std::string(op_name(op)));
      if (inserted) {
        order.push_back(list);
      } else {
        it->second += ", " + std::string(op_name(op));
      }
    }
    for (const std::string& list : order) out << "  " << by_list[list] << ": " << list << "\n";
    std::string below;
    for (const Entry& e : t.hidden) {
      if (e.types != 0 && !(e.types & syntax::kTypeDir)) continue;
      below += (below.empty() ? "" : "; ") + entry_text(policy, Entry{e.rule, 0, e.conditional}, "ENOENT");
      if (!e.conditional) break;
    }
    if (!below.empty()) out << "  below it (as a directory): " << below << "\n";
    print_other_layers(out, policy, t);
  }
  return out.str();
}

}  // namespace fspol::ir
