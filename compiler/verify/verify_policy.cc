#include "verify/verify_policy.h"

#include <algorithm>
#include <map>
#include <set>

#include "automata/nfa.h"
#include "ir/ir_eval.h"
#include "ir/ir_printer.h"
#include "sema/check.h"
#include "syntax/path.h"

namespace fspol::verify {

namespace {

using syntax::RuleKind;

constexpr uint8_t kAllTypes = 0x7f;

// Whether an earlier rule of kind `earlier` can decide first for a rule
// of kind `k` under "first match decides" (visibility, attributes per
// field, and audit are handled apart; case folding is applied before
// matching and competes with nothing).
bool competes(RuleKind k, RuleKind earlier) {
  syntax::Layer layer = syntax::rule_kind_info(k).layer;
  if (layer == syntax::Layer::kVisibility || layer == syntax::Layer::kAttributes ||
      layer == syntax::Layer::kAudit) {
    return false;
  }
  if (layer == syntax::Layer::kNames) return k == earlier;
  return syntax::rule_kind_info(earlier).layer == layer;
}

// Whether a kind's decisions depend on the operation.
bool has_ops(RuleKind k) {
  syntax::Layer layer = syntax::rule_kind_info(k).layer;
  return layer == syntax::Layer::kAccess || layer == syntax::Layer::kUserspace;
}

bool upper(char c) { return c >= 'A' && c <= 'Z'; }

class Verifier {
 public:
  Verifier(const sema::Program& program, const ir::Policy& policy, sema::SemaContext& ctx)
      : program_(program), policy_(policy), ctx_(ctx) {}

  bool run() {
    uint32_t errors = ctx_.diags.error_count();
    check_rules();
    check_cached_hides();
    check_casefold();
    check_names_conflict();
    check_renames();
    check_redirects();
    return ctx_.diags.error_count() == errors;
  }

 private:
  SourceRange where(uint32_t rule) const { return policy_.rules[rule].range; }
  std::string at(uint32_t rule) const { return policy_.rules[rule].where.str(); }

  static uint8_t types_of(uint8_t types) { return types ? types : kAllTypes; }

  // ---- Visibility ---------------------------------------------------------------

  // The first hide rule that hides class `c` for `type` for every caller.
  int hidden_by(uint32_t c, uint8_t type) const {
    for (const ir::Entry& e : policy_.tables[c].hidden) {
      if (!e.conditional && (e.types == 0 || (e.types & type))) return static_cast<int>(e.rule);
    }
    return -1;
  }

  // Some path of class c has no ancestor hidden for everyone.
  bool reachable(uint32_t c) const { return policy_.classes[c].visible; }

  // A hide rule hiding class c (or, failing that, an ancestor), for notes.
  std::string hiding_note(uint32_t c, uint8_t type) const {
    int by = hidden_by(c, type);
    if (by >= 0) return "hidden by the rule at " + at(static_cast<uint32_t>(by));
    return "under a directory hidden from everyone";
  }

  // ---- Per rule: does it ever act? -------------------------------------------------

  // The earlier rule of the same layer that decides (c, type, op) for
  // every caller, or -1.
  int decided_before(const ir::Rule& rule, uint32_t c, uint8_t type, sema::Op op) const {
    for (const ir::Match& m : policy_.classes[c].matches) {
      if (m.rule >= rule.id) break;
      const ir::Rule& e = policy_.rules[m.rule];
      if (!competes(rule.kind, e.kind) || e.condition) continue;
      if (!(types_of(m.types) & type)) continue;
      if (has_ops(e.kind) && !(e.ops & sema::bit(op))) continue;
      return static_cast<int>(e.id);
    }
    return -1;
  }

  // For attr rules: the earlier unconditional attr rule setting `field`.
  template <typename Field>
  int attr_decided_before(const ir::Rule& rule, uint32_t c, uint8_t type, Field field) const {
    for (const ir::Match& m : policy_.classes[c].matches) {
      if (m.rule >= rule.id) break;
      const ir::Rule& e = policy_.rules[m.rule];
      if (e.kind != RuleKind::kAttr || e.condition || !(types_of(m.types) & type)) continue;
      if (e.attr.*field) return static_cast<int>(e.id);
    }
    return -1;
  }

  // What one pass over the classes learns about a rule.
  struct RuleFacts {
    bool acts = false;     // applies to some visible path
    bool decides = false;  // and is the first of its layer there
    int hidden_class = -1;
    uint8_t hidden_type = syntax::kTypeFile;
    int shadow_rule = -1;
    std::string shadow_example;
  };

  // One pass over the classes: cost proportional to the matches, not to
  // rules times classes.
  void check_rules() {
    std::vector<RuleFacts> facts(policy_.rules.size());
    for (uint32_t c = 0; c < policy_.classes.size(); ++c) {
      for (const ir::Match& m : policy_.classes[c].matches) {
        const ir::Rule& rule = policy_.rules[m.rule];
        if (rule.kind == RuleKind::kAudit) continue;  // every audit rule acts
        RuleFacts& f = facts[m.rule];
        if (f.decides) continue;  // nothing more to learn
        for (unsigned t = 0; t < 7; ++t) {
          auto type = static_cast<uint8_t>(1u << t);
          if (!(types_of(m.types) & type)) continue;
          bool hidden = !reachable(c);
          if (!hidden) {
            int by = hidden_by(c, type);
            hidden = rule.kind == RuleKind::kHide ? by >= 0 && static_cast<uint32_t>(by) < rule.id
                                                  : by >= 0;
          }
          if (hidden) {
            if (f.hidden_class < 0) {
              f.hidden_class = static_cast<int>(c);
              f.hidden_type = type;
            }
            continue;
          }
          f.acts = true;
          if (decides(rule, c, type, f.shadow_rule, f.shadow_example)) {
            f.decides = true;
            break;
          }
        }
      }
    }
    for (const ir::Rule& rule : policy_.rules) {
      const RuleFacts& f = facts[rule.id];
      if (rule.kind == RuleKind::kAudit) continue;
      if (!f.acts && f.hidden_class >= 0) {
        report_hidden(rule, static_cast<uint32_t>(f.hidden_class), f.hidden_type);
      } else if (f.acts && !f.decides && f.shadow_rule >= 0) {
        ctx_.diags
            .warning("shadowed", where(rule.id),
                     std::string(syntax::rule_keyword(rule.kind)) +
                         " rule never decides: earlier rules always decide first (e.g. " +
                         f.shadow_example + ")")
            .note(where(static_cast<uint32_t>(f.shadow_rule)), "this rule decides first");
      }
    }
  }

  // Whether `rule` decides anything at (c, type); if not, remembers which
  // earlier rule does.
  bool decides(const ir::Rule& rule, uint32_t c, uint8_t type, int& shadow_rule,
               std::string& example) {
    const std::string path = policy_.classes[c].example;
    if (rule.kind == RuleKind::kHide) return true;
    if (rule.kind == RuleKind::kAttr) {
      const sema::AttrRewrite& a = rule.attr;
      bool any = false;
      auto field = [&](auto member, const char* name) {
        if (!(a.*member)) return;
        int by = attr_decided_before(rule, c, type, member);
        if (by < 0) {
          any = true;
        } else if (shadow_rule < 0) {
          shadow_rule = by;
          example = std::string(name) + " of " + path;
        }
      };
      field(&sema::AttrRewrite::mode, "mode");
      field(&sema::AttrRewrite::uid, "uid");
      field(&sema::AttrRewrite::gid, "gid");
      field(&sema::AttrRewrite::atime, "atime");
      field(&sema::AttrRewrite::mtime, "mtime");
      field(&sema::AttrRewrite::ctime, "ctime");
      return any || (!a.mode && !a.uid && !a.gid && !a.atime && !a.mtime && !a.ctime);
    }
    for (size_t i = 0; i < sema::kOpCount; ++i) {
      auto op = static_cast<sema::Op>(i);
      if (has_ops(rule.kind) && !(rule.ops & sema::bit(op))) continue;
      int by = decided_before(rule, c, type, op);
      if (by < 0) return true;
      if (shadow_rule < 0) {
        shadow_rule = by;
        example = (has_ops(rule.kind) ? std::string(sema::op_name(op)) + " of " : "") + path;
      }
      if (!has_ops(rule.kind)) break;
    }
    return false;
  }

  void report_hidden(const ir::Rule& rule, uint32_t c, uint8_t type) {
    std::string path = policy_.classes[c].example;
    if (rule.kind == RuleKind::kHide) {
      ctx_.diags
          .warning("unreachable", where(rule.id),
                   "hide rule hides only paths that are hidden already (e.g. " + path + ")")
          .note(where(rule.id), hiding_note(c, type));
      return;
    }
    ctx_.diags
        .error(where(rule.id), std::string(syntax::rule_keyword(rule.kind)) +
                                   " rule names only hidden paths (e.g. " + path + ", a " +
                                   syntax::file_types_text(type) + "); hiding wins, so it never acts")
        .note(where(rule.id), hiding_note(c, type));
  }

  // ---- Policy-wide checks -----------------------------------------------------------------

  // A hide that depends on the caller cannot be cached for everyone.
  void check_cached_hides() {
    for (const ir::Option& o : policy_.options) {
      if (o.name != syntax::OptionName::kCache || o.value.text != "always") continue;
      for (const ir::Rule& rule : policy_.rules) {
        if (rule.kind != RuleKind::kHide || !rule.condition) continue;
        ctx_.diags
            .error(rule.condition_range,
                   "this hide depends on the caller, but 'option cache = always' lets the kernel "
                   "answer every caller from one cached lookup")
            .note(o.value.range, "set 'cache = auto' (or never) so the answer is asked per caller");
      }
    }
  }

  // Selectors reaching into a case-insensitive subtree must use its
  // spelling and lower case below it; casefold roots must not collide.
  void check_casefold() {
    const auto& roots = policy_.casefold_roots;
    for (size_t i = 0; i < roots.size(); ++i) {
      for (size_t j = 0; j < i; ++j) {
        if (roots[i] != roots[j] && fold(roots[i]) == fold(roots[j])) {
          report_casefold_root_collision(roots[i], roots[j]);
        }
      }
    }
    for (const sema::Rule& rule : program_.rules) {
      if (rule.kind == RuleKind::kCasefold) continue;
      for (const sema::Selector& s : rule.selectors) {
        for (const std::string& root : roots) {
          std::string why;
          if (!never_matches_in(s, root, why)) continue;
          std::string message = "selector \"" + s.pattern + "\" never matches inside the "
                                "case-insensitive subtree " + root + ": " + why;
          if (rule.kind == RuleKind::kHide) {
            ctx_.diags.error(s.range, message + ", so what it should hide stays visible")
                .note(rule.where(), "names below " + root + " are matched in lower case");
          } else {
            ctx_.diags.warning("casefold-case", s.range, message);
          }
          break;
        }
      }
    }
  }

  // Inside a case-insensitive subtree, a rename map would have to apply
  // before or after folding; the resolution rule does not say which.
  void check_names_conflict() {
    for (const ir::Rule& rule : policy_.rules) {
      if (rule.kind != RuleKind::kRename) continue;
      for (uint32_t s : rule.selectors) {
        const std::string& prefix = policy_.selectors[s].literal_prefix;
        for (const std::string& root : policy_.casefold_roots) {
          bool overlap = fold(prefix) == fold(root) ||
                         fold(prefix).rfind(fold(root) + "/", 0) == 0 ||
                         fold(root).rfind(fold(prefix) == "/" ? "/" : fold(prefix) + "/", 0) == 0;
          if (!overlap) continue;
          ctx_.diags.error(where(rule.id), "rename maps and case folding both apply below " +
                                               (prefix.size() > root.size() ? prefix : root) +
                                               "; which comes first is not defined")
              .note(where(rule.id), "rename outside the case-insensitive subtree " + root +
                                        ", or drop one of the two");
          return;
        }
      }
    }
  }

  static std::string fold(std::string s) {
    for (char& c : s) c = upper(c) ? static_cast<char>(c - 'A' + 'a') : c;
    return s;
  }

  void report_casefold_root_collision(const std::string& a, const std::string& b) {
    for (const sema::Rule& rule : program_.rules) {
      if (rule.kind != RuleKind::kCasefold) continue;
      for (const sema::Selector& s : rule.selectors) {
        std::string prefix;
        if (sema::literal_subtree(s, prefix) && prefix == a) {
          ctx_.diags.error(s.range, "case-insensitive subtrees " + b + " and " + a +
                                        " collide: they are one directory when case is ignored");
          return;
        }
      }
    }
  }

  // True when `s` has a literal that cannot occur in canonical paths of
  // the subtree `root`: upper-case below it, or another spelling of it.
  static bool never_matches_in(const sema::Selector& s, const std::string& root, std::string& why) {
    std::vector<std::string> parts = syntax::path_components(root);
    const auto& comps = s.glob.components;
    if (comps.size() <= parts.size() && !(comps.size() == parts.size())) return false;
    for (size_t i = 0; i < parts.size(); ++i) {
      if (i >= comps.size()) return false;
      const auto& c = comps[i];
      if (c.globstar || c.pieces.size() != 1 || c.pieces[0].kind != syntax::GlobPiece::Kind::kLiteral) {
        return false;
      }
      const std::string& lit = c.pieces[0].literal;
      if (fold(lit) != fold(parts[i])) return false;  // not in this subtree
      if (lit != parts[i]) {
        why = "it spells '" + lit + "' as '" + parts[i] + "' is spelled there";
        return true;
      }
    }
    for (size_t i = parts.size(); i < comps.size(); ++i) {
      if (has_upper(comps[i].pieces)) {
        why = "it has upper-case letters below " + root;
        return true;
      }
    }
    return false;
  }

  static bool has_upper(const syntax::GlobSeq& seq) {
    for (const syntax::GlobPiece& p : seq) {
      if (p.kind == syntax::GlobPiece::Kind::kLiteral &&
          std::any_of(p.literal.begin(), p.literal.end(), upper)) {
        return true;
      }
      if (p.kind == syntax::GlobPiece::Kind::kAlternatives) {
        for (const syntax::GlobSeq& alt : p.alternatives) {
          if (has_upper(alt)) return true;
        }
      }
    }
    return false;
  }

  // A name map must be a bijection: every view suffix is also a lower
  // suffix (the maps permute a set of suffixes), and no two suffixes of
  // the set overlap, so exactly one map applies to any name.
  void check_renames() {
    for (const sema::Rule& rule : program_.rules) {
      if (rule.kind != RuleKind::kRename) continue;
      for (bool suffix : {true, false}) check_name_maps(rule, suffix);
    }
  }

  void check_name_maps(const sema::Rule& rule, bool suffix) {
    std::vector<const sema::NameMap*> maps;
    for (const sema::NameMap& m : rule.names) {
      if (m.suffix == suffix) maps.push_back(&m);
    }
    if (maps.empty()) return;
    const char* kind = suffix ? "suffix" : "prefix";
    auto name = [&](const std::string& part) { return suffix ? "a" + part : part + "a"; };
    std::set<std::string> lowers;
    for (const sema::NameMap* m : maps) {
      if (!lowers.insert(m->lower).second) {
        ctx_.diags.error(rule.where(), std::string(kind) + " \"" + m->lower +
                                           "\" is mapped twice; a name map must be one-to-one");
        return;
      }
    }
    for (const sema::NameMap* m : maps) {
      if (lowers.count(m->view)) continue;
      ctx_.diags
          .error(rule.where(), std::string(kind) + " map \"" + m->lower + "\" -> \"" + m->view +
                                   "\" is not bijective: lower names '" + name(m->lower) +
                                   "' and '" + name(m->view) + "' would both appear as '" +
                                   name(m->view) + "'")
          .note(rule.where(), "also map \"" + m->view + "\" -> \"" + m->lower +
                                  "\" (a swap), or hide the lower names ending in \"" + m->view +
                                  "\"");
      return;
    }
    for (const std::string& a : lowers) {
      for (const std::string& b : lowers) {
        bool overlap = a != b && (suffix ? b.size() > a.size() &&
                                               b.compare(b.size() - a.size(), a.size(), a) == 0
                                         : b.rfind(a, 0) == 0);
        if (!overlap) continue;
        ctx_.diags.error(rule.where(), std::string(kind) + "es \"" + a + "\" and \"" + b +
                                           "\" overlap: a name like '" + name(b) +
                                           "' has both, so the mapping is ambiguous");
        return;
      }
    }
  }

  // A redirect on the main root must not serve a subtree the view hides,
  // nor a target inside the subtree it redirects.
  void check_redirects() {
    for (const ir::Rule& rule : policy_.rules) {
      if (rule.kind != RuleKind::kRedirect || rule.target_root != "main") continue;
      const std::string& target = rule.target_path;
      for (uint32_t s : rule.selectors) {
        const std::string& prefix = policy_.selectors[s].literal_prefix;
        bool inside = prefix == "/" || target == prefix || target.rfind(prefix + "/", 0) == 0;
        if (inside) {
          ctx_.diags.error(where(rule.id), "redirect target main:" + target +
                                               " is inside the subtree " + prefix +
                                               " it redirects, so that subtree would contain itself");
          return;
        }
      }
      // Is the target, as a path of the view, hidden (from anyone)?
      uint32_t state = policy_.dfa.start;
      std::string walked;
      std::vector<std::string> parts = syntax::path_components(target);
      for (size_t i = 0; i <= parts.size(); ++i) {
        auto c = static_cast<uint32_t>(policy_.class_of_state[state]);
        for (const ir::Match& m : policy_.classes[c].matches) {
          const ir::Rule& h = policy_.rules[m.rule];
          if (h.kind != RuleKind::kHide || !(types_of(m.types) & syntax::kTypeDir)) continue;
          ctx_.diags
              .error(where(rule.id), "redirect serves main:" + target + " under another name, but "
                                     "the view hides " + (walked.empty() ? "/" : walked) +
                                     "; this would reveal it")
              .note(where(h.id), "hidden here");
          return;
        }
        if (i == parts.size()) break;
        walked += "/" + parts[i];
        state = policy_.dfa.run(state, parts[i]);
        state = policy_.dfa.step(state, '/');
      }
    }
  }

  const sema::Program& program_;
  const ir::Policy& policy_;
  sema::SemaContext& ctx_;
};

}  // namespace

bool run_verify(const sema::Program& program, const ir::Policy& policy, sema::SemaContext& ctx) {
  return Verifier(program, policy, ctx).run();
}

}  // namespace fspol::verify
