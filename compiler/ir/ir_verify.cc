#include "ir/ir_verify.h"

#include <cstdio>
#include <cstdlib>
#include <string>

namespace fspol::ir {

namespace {

[[noreturn]] void broken(const Policy& policy, const std::string& what) {
  std::fprintf(stderr, "fsc: internal error: IR of policy '%s': %s\n", policy.name.c_str(),
               what.c_str());
  std::abort();
}

void check_list(const Policy& policy, const PathClass& pc, const std::vector<Entry>& list,
                syntax::Layer layer, bool first_match, const std::string& name) {
  uint32_t last = 0;
  for (size_t i = 0; i < list.size(); ++i) {
    const Entry& e = list[i];
    if (e.rule >= policy.rules.size()) broken(policy, name + ": no rule " + std::to_string(e.rule));
    const Rule& rule = policy.rules[e.rule];
    if (syntax::rule_kind_info(rule.kind).layer != layer) {
      broken(policy, name + ": rule " + std::to_string(e.rule) + " is not of this layer");
    }
    if (e.conditional != rule.condition.has_value()) {
      broken(policy, name + ": rule " + std::to_string(e.rule) + "'s condition flag");
    }
    bool matches = false;
    for (const Match& m : pc.matches) matches = matches || (m.rule == e.rule && m.types == e.types);
    if (!matches) broken(policy, name + ": rule " + std::to_string(e.rule) + " does not match here");
    if (i > 0 && e.rule <= last) broken(policy, name + ": entries out of resolution order");
    if (first_match && i + 1 < list.size() && e.always()) {
      broken(policy, name + ": entries after one that always applies");
    }
    last = e.rule;
  }
}

}  // namespace

void verify_ir(const Policy& policy) {
  using syntax::Layer;
  for (size_t r = 0; r < policy.rules.size(); ++r) {
    const Rule& rule = policy.rules[r];
    if (rule.id != r) broken(policy, "rule " + std::to_string(r) + " has id " + std::to_string(rule.id));
    for (uint32_t s : rule.selectors) {
      if (s >= policy.selectors.size() || policy.selectors[s].rule != r) {
        broken(policy, "rule " + std::to_string(r) + " names a selector of another rule");
      }
    }
  }
  const automata::Dfa& dfa = policy.dfa;
  if (dfa.next.size() != size_t{dfa.state_count()} * dfa.class_count || dfa.start >= dfa.state_count()) {
    broken(policy, "the DFA's transition table has the wrong size");
  }
  for (uint32_t to : dfa.next) {
    if (to >= dfa.state_count()) broken(policy, "a DFA transition leads nowhere");
  }
  if (policy.class_of_state.size() != dfa.state_count()) broken(policy, "class_of_state size");
  if (policy.tables.size() != policy.classes.size()) broken(policy, "one decision table per class");
  if (policy.classes.empty() || policy.classes[0].state != dfa.start) {
    broken(policy, "class 0 must be the root's");
  }
  for (size_t c = 0; c < policy.classes.size(); ++c) {
    const PathClass& pc = policy.classes[c];
    std::string name = "class " + std::to_string(c);
    if (pc.state >= dfa.state_count() || policy.class_of_state[pc.state] != static_cast<int32_t>(c)) {
      broken(policy, name + " is not its state's class");
    }
    for (size_t i = 0; i < pc.matches.size(); ++i) {
      if (pc.matches[i].rule >= policy.rules.size() ||
          (i > 0 && pc.matches[i].rule <= pc.matches[i - 1].rule)) {
        broken(policy, name + ": matches out of order");
      }
    }
    for (uint32_t child : pc.children) {
      if (child >= policy.classes.size()) broken(policy, name + ": a child that is no class");
    }
    const ClassTable& t = policy.tables[c];
    check_list(policy, pc, t.hidden, Layer::kVisibility, false, name + " hidden");
    for (size_t op = 0; op < kOpCount; ++op) {
      std::string atom(op_name(static_cast<Op>(op)));
      check_list(policy, pc, t.access[op], Layer::kAccess, true, name + " access " + atom);
      check_list(policy, pc, t.handler[op], Layer::kUserspace, true, name + " handler " + atom);
      check_list(policy, pc, t.audit[op], Layer::kAudit, false, name + " audit " + atom);
    }
    for (size_t f = 0; f < kAttrFieldCount; ++f) {
      check_list(policy, pc, t.attr[f], Layer::kAttributes, true,
                 name + " attr " + std::string(attr_field_name(static_cast<AttrField>(f))));
    }
    check_list(policy, pc, t.names, Layer::kNames, true, name + " names");
    check_list(policy, pc, t.placement, Layer::kPlacement, true, name + " placement");
  }
}

}  // namespace fspol::ir
