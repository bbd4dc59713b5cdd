#include "ir/lower.h"

#include <algorithm>
#include <map>

#include "automata/nfa.h"
#include "ir/decide.h"
#include "ir/ir_verify.h"
#include "sema/check.h"
#include "syntax/path.h"

namespace fspol::ir {

namespace {

SourceRef source_ref(const SourceManager& sources, SourceRange range) {
  if (!range.valid()) return {};
  const SourceFile& file = sources.file(range.file);
  LineCol lc = file.line_col(range.begin);
  return SourceRef{file.path(), lc.line, lc.col};
}

// Finds a selector whose automaton alone is too large, to point at it.
void report_too_large(const sema::Program& program, Diagnostics& diags, uint32_t max_states) {
  std::string limit = std::to_string(max_states);
  for (const sema::Rule& rule : program.rules) {
    for (const sema::Selector& s : rule.selectors) {
      if (automata::build_dfa(automata::build_nfa({&s.glob}), nullptr, max_states)) continue;
      diags.error(s.range, "this selector needs an automaton of more than " + limit + " states")
          .note(s.range, "a '*' followed by many '?' or classes in one component grows it "
                         "exponentially; match fewer single characters after the '*'");
      return;
    }
  }
  SourceRange where;
  if (!program.rules.empty()) where = program.rules.front().where();
  diags.error(where, "the policy's selectors together need an automaton of more than " + limit +
                         " states")
      .note(where, "split the policy, or use fewer wildcards followed by single characters");
}

}  // namespace

std::optional<Policy> run_lower(const sema::Program& program, const SourceManager& sources,
                                Diagnostics& diags, uint32_t max_states) {
  Policy policy;
  policy.name = program.name;
  for (const sema::Lower& l : program.lowers) policy.lowers.push_back(Lower{l.name, l.path});
  policy.options = program.options;

  std::vector<const syntax::Glob*> globs;
  for (const sema::Rule& r : program.rules) {
    Rule rule;
    rule.id = static_cast<uint32_t>(policy.rules.size());
    rule.kind = r.kind;
    rule.ops = r.ops;
    rule.errno_value = r.errno_value;
    rule.errno_name = r.errno_name;
    rule.condition = r.condition;
    rule.attr = r.attr;
    rule.names = r.names;
    rule.target_root = r.target_root;
    rule.target_path = r.target_path;
    rule.target_components = syntax::path_components(r.target_path);
    rule.handler = r.handler;
    rule.tag = r.tag;
    rule.where = source_ref(sources, r.where());
    for (SourceRange via : r.via) rule.via.push_back(source_ref(sources, via));
    rule.range = r.where();
    rule.via_ranges = r.via;
    if (r.ast->condition) rule.condition_range = r.ast->condition->range;
    for (const sema::Selector& s : r.selectors) {
      rule.selectors.push_back(static_cast<uint32_t>(policy.selectors.size()));
      std::string prefix = sema::literal_prefix(s);
      std::vector<std::string> components = syntax::path_components(prefix);
      policy.selectors.push_back(Selector{rule.id, s.types, s.pattern, std::move(prefix),
                                          std::move(components), source_ref(sources, s.range),
                                          s.range});
      globs.push_back(&s.glob);
      if (r.kind == syntax::RuleKind::kCasefold) {
        std::string root;
        if (sema::literal_subtree(s, root)) policy.casefold_roots.push_back(root);
      }
    }
    policy.rules.push_back(std::move(rule));
  }

  auto dfa = automata::build_dfa(automata::build_nfa(globs), &policy.stats.dfa, max_states);
  if (!dfa) {
    report_too_large(program, diags, max_states);
    return std::nullopt;
  }
  policy.dfa = std::move(*dfa);
  // A directory hidden from everyone hides its subtree: classes reached
  // only below one are explored last and marked invisible.
  auto hides_children = [&](uint32_t state) {
    for (uint32_t selector : policy.dfa.accepts[state]) {
      const Selector& s = policy.selectors[selector];
      const Rule& rule = policy.rules[s.rule];
      if (rule.kind == syntax::RuleKind::kHide && !rule.condition &&
          (s.types == 0 || (s.types & syntax::kTypeDir))) {
        return true;
      }
    }
    return false;
  };
  automata::PathClasses classes = automata::find_path_classes(policy.dfa, hides_children);
  policy.class_of_state = classes.class_of_state;
  for (size_t c = 0; c < classes.state_of_class.size(); ++c) {
    PathClass pc;
    pc.state = classes.state_of_class[c];
    pc.example = classes.example[c];
    pc.children = classes.children[c];
    pc.visible = classes.visible[c];
    std::map<uint32_t, uint8_t> by_rule;
    for (uint32_t selector : policy.dfa.accepts[pc.state]) {
      const Selector& s = policy.selectors[selector];
      auto [it, inserted] = by_rule.emplace(s.rule, s.types);
      // Types union; 0 (any) absorbs everything.
      if (!inserted) it->second = (it->second == 0 || s.types == 0) ? 0 : (it->second | s.types);
    }
    for (auto [rule, types] : by_rule) pc.matches.push_back(Match{rule, types});
    policy.classes.push_back(std::move(pc));
  }
  policy.tables = decide(policy);
#ifndef NDEBUG
  verify_ir(policy);
#endif
  policy.stats.rules = static_cast<uint32_t>(policy.rules.size());
  policy.stats.selectors = static_cast<uint32_t>(policy.selectors.size());
  policy.stats.path_classes = static_cast<uint32_t>(policy.classes.size());
  return policy;
}

}  // namespace fspol::ir
