#include "ir/ir_eval.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>

#include "automata/nfa.h"
#include "ir/decide.h"
#include "ir/render.h"
#include "syntax/path.h"

namespace fspol::ir {

namespace {

using syntax::RuleKind;

Result<std::vector<std::string>> split(std::string_view path) {
  if (path.empty() || path[0] != '/') {
    return Error{EINVAL, "'" + std::string(path) + "' is not an absolute path"};
  }
  std::vector<std::string> out = syntax::path_components(path);
  for (const std::string& c : out) {
    if (c.empty()) return Error{EINVAL, "'" + std::string(path) + "' has an empty component"};
    if (c == "." || c == "..") {
      return Error{EINVAL, "'" + std::string(path) + "' has a '" + c +
                               "' component; paths in the mount are resolved"};
    }
    if (c.find('\0') != std::string::npos) return Error{EINVAL, "a path cannot contain a null byte"};
  }
  return out;
}

std::string join(const std::vector<std::string>& components, size_t n) {
  if (n == 0) return "/";
  std::string out;
  for (size_t i = 0; i < n; ++i) out += "/" + components[i];
  return out;
}


// Case folding, component by component from the root (the way a stacked
// file system meets a path): a component that equals, ignoring ASCII case,
// the component at its depth of a casefold root whose earlier components
// matched too takes the spelling of the first such root; once a root's
// last component matched, every component below is lowercased. Returns
// whether any component was folded.
bool canonicalize(const Policy& policy, std::vector<std::string>& components) {
  std::vector<std::vector<std::string>> roots;
  bool inside = false;
  for (const std::string& root : policy.casefold_roots) {
    auto parts = split(root);
    if (!parts) continue;
    if (parts->empty()) inside = true;  // casefold "/**"
    roots.push_back(std::move(*parts));
  }
  std::vector<size_t> along;  // roots whose components matched so far
  for (size_t r = 0; r < roots.size(); ++r) along.push_back(r);
  bool folded = inside;
  for (size_t i = 0; i < components.size(); ++i) {
    std::string& c = components[i];
    if (inside) {
      c = ir::folded(c);
      continue;
    }
    std::vector<size_t> next;
    const std::string* spelling = nullptr;
    for (size_t r : along) {
      if (i >= roots[r].size() || !equal_folded(roots[r][i], c)) continue;
      if (spelling == nullptr) spelling = &roots[r][i];
      if (roots[r].size() == i + 1) {
        inside = true;
      } else {
        next.push_back(r);
      }
    }
    if (spelling != nullptr) {
      c = *spelling;
      folded = true;
    }
    along = std::move(next);
  }
  return folded;
}

class Evaluator {
 public:
  Evaluator(const Policy& policy, const Request& request) : p_(policy), r_(request) {}

  Result<Verdict> run() {
    auto components = split(r_.path);
    if (!components) return components.error();
    path_ = std::move(*components);
    v_.casefolded = canonicalize(p_, path_);
    v_.canonical_path = join(path_, path_.size());
    classes_ = classes_of(path_);
    v_.path_class = classes_.back();

    std::vector<std::string> dest_path;
    std::vector<uint32_t> dest_classes;
    if (r_.new_path) {
      auto dest = split(*r_.new_path);
      if (!dest) return dest.error();
      dest_path = std::move(*dest);
      canonicalize(p_, dest_path);
      dest_classes = classes_of(dest_path);
    }
    if (decide(dest_path, dest_classes)) {
      v_.reason = "allowed";
      attributes();
      placement();
      userspace();
    }
    // Audit records every matching request, allowed or refused.
    audit();
    return v_;
  }

 private:
  // Visibility, then access, for the path and (rename, link) the
  // destination. True when the operation goes ahead.
  bool decide(const std::vector<std::string>& dest_path, const std::vector<uint32_t>& dest_classes) {
    if (hidden_ancestor(classes_, path_)) return false;
    bool creates = r_.op == Op::kCreate;
    if (hidden_here(classes_.back(), r_.type, "", creates)) return false;
    if (denied(classes_.back(), r_.type, r_.op, "")) return false;
    if (dest_classes.empty()) return true;
    Op dest_op = destination_op(r_.op);
    if (hidden_ancestor(dest_classes, dest_path)) return false;
    if (hidden_here(dest_classes.back(), r_.type, " (the destination)", true)) return false;
    return !denied(dest_classes.back(), r_.type, dest_op, " (the destination)");
  }

  std::vector<uint32_t> classes_of(const std::vector<std::string>& path) {
    std::vector<uint32_t> out;
    uint32_t state = p_.dfa.start;
    out.push_back(static_cast<uint32_t>(p_.class_of_state[state]));
    for (const std::string& c : path) {
      state = p_.dfa.run(state, c);
      state = p_.dfa.step(state, '/');
      out.push_back(static_cast<uint32_t>(p_.class_of_state[state]));
    }
    return out;
  }

  const ClassTable& table(uint32_t cls) const { return p_.tables[cls]; }

  // The first entry of `list` that applies to this request.
  const Entry* first_of(const std::vector<Entry>& list, uint8_t type) {
    return first(list, type, [&](uint32_t rule) { return holds(*p_.rules[rule].condition, r_.caller); });
  }

  void fail(int error, const char* name, std::string reason) {
    v_.error = error;
    v_.error_name = name;
    v_.reason = std::move(reason);
  }

  // Below a directory that a hide rule hides (for this caller), every
  // request answers ENOENT.
  bool hidden_ancestor(const std::vector<uint32_t>& classes, const std::vector<std::string>& path) {
    for (size_t i = 0; i + 1 < classes.size(); ++i) {
      const Entry* e = first_of(table(classes[i]).hidden, syntax::kTypeDir);
      if (e == nullptr) continue;
      v_.steps.push_back(Step{"visibility", e->rule, "hides " + join(path, i)});
      fail(ENOENT, "ENOENT", "a parent directory, " + join(path, i) + ", is hidden");
      return true;
    }
    return false;
  }

  // A hidden name answers ENOENT, except to an operation that would create
  // it: that fails with EACCES whether or not the lower file exists, so the
  // answer reveals nothing.
  bool hidden_here(uint32_t cls, uint8_t type, const std::string& which, bool creates) {
    const Entry* e = first_of(table(cls).hidden, type);
    if (e == nullptr) return false;
    v_.steps.push_back(Step{"visibility", e->rule, "hidden" + which});
    if (creates) {
      fail(EACCES, "EACCES", "the name is hidden" + which + "; creating it would reveal it");
    } else {
      fail(ENOENT, "ENOENT", "the path is hidden" + which);
    }
    return true;
  }

  // Access: the first deny, allow or readonly rule that covers the
  // operation and whose condition holds decides; none allows.
  bool denied(uint32_t cls, uint8_t type, Op op, const std::string& which) {
    const Entry* e = first_of(table(cls).access[static_cast<size_t>(op)], type);
    if (e == nullptr) return false;
    const Rule& rule = p_.rules[e->rule];
    if (rule.kind == RuleKind::kAllow) {
      v_.steps.push_back(Step{"access", rule.id, "allow" + which});
      return false;
    }
    std::string keyword(syntax::rule_keyword(rule.kind));
    v_.steps.push_back(Step{"access", rule.id, keyword + " " + rule.errno_name + which});
    fail(rule.errno_value, rule.errno_name.c_str(), "denied by a " + keyword + " rule" + which);
    v_.error_name = rule.errno_name;
    return true;
  }

  // Attributes: for each field, the first attr rule that sets it.
  void attributes() {
    for (size_t f = 0; f < kAttrFieldCount; ++f) {
      const Entry* e = first_of(table(classes_.back()).attr[f], r_.type);
      if (e == nullptr) continue;
      const AttrRewrite& a = p_.rules[e->rule].attr;
      auto field = static_cast<AttrField>(f);
      switch (field) {
        case AttrField::kMode: v_.attr.mode = a.mode; break;
        case AttrField::kUid: v_.attr.uid = a.uid; break;
        case AttrField::kGid: v_.attr.gid = a.gid; break;
        case AttrField::kAtime: v_.attr.atime = a.atime; break;
        case AttrField::kMtime: v_.attr.mtime = a.mtime; break;
        case AttrField::kCtime: v_.attr.ctime = a.ctime; break;
      }
      v_.steps.push_back(Step{"attr", e->rule, attr_field_text(a, field)});
    }
  }

  // Names and placement, component by component from the root: a rename
  // rule matching a component maps its view name back to the lower name; a
  // redirect matching a prefix serves that subtree from its target.
  void placement() {
    std::vector<std::string> names;  // the lower name of each view component
    std::vector<std::string> lower;
    const Rule* active = nullptr;    // the redirect serving the current subtree
    for (size_t i = 1; i < classes_.size(); ++i) {
      uint8_t type = i + 1 == classes_.size() ? r_.type : syntax::kTypeDir;
      std::string name = path_[i - 1];
      if (const Entry* e = first_of(table(classes_[i]).names, type)) {
        std::string mapped = lower_name(p_.rules[e->rule], name);
        if (mapped != name) {
          v_.steps.push_back(Step{"names", e->rule, "'" + name + "' is '" + mapped + "' below"});
        }
        name = mapped;
      }
      names.push_back(name);
      lower.push_back(name);
      // A redirect serves the subtree where it first matches; deeper
      // matches of the same rule are inside that subtree already.
      if (const Entry* e = first_of(table(classes_[i]).placement, type)) {
        const Rule& rule = p_.rules[e->rule];
        if (&rule != active) redirect(rule, i, names, lower);
        active = &rule;
      }
    }
    v_.lower_path = lower.empty() ? "/" : "";
    for (const std::string& c : lower) v_.lower_path += "/" + c;
  }

  void redirect(const Rule& rule, size_t depth, const std::vector<std::string>& names,
                std::vector<std::string>& lower) {
    std::vector<std::string> view(path_.begin(), path_.begin() + static_cast<ptrdiff_t>(depth));
    lower = redirect_target(p_, rule, view, names);
    v_.lower_root = rule.target_root;
    v_.steps.push_back(Step{"placement", rule.id, join(path_, depth) + " is served from " +
                                                      rule.target_root + ":" + rule.target_path});
  }

  void userspace() {
    const Entry* e = first_of(table(classes_.back()).handler[static_cast<size_t>(r_.op)], r_.type);
    if (e == nullptr) return;
    v_.handler = p_.rules[e->rule].handler;
    v_.steps.push_back(Step{"userspace", e->rule, "handled by " + v_.handler});
  }

  void audit() {
    for (const Entry& e : table(classes_.back()).audit[static_cast<size_t>(r_.op)]) {
      if (e.types != 0 && !(e.types & r_.type)) continue;
      if (e.conditional && !holds(*p_.rules[e.rule].condition, r_.caller)) continue;
      const std::string& tag = p_.rules[e.rule].tag;
      v_.audit_tags.push_back(tag);
      v_.steps.push_back(Step{"audit", e.rule, tag.empty() ? "logged" : "logged as " + tag});
    }
  }

  const Policy& p_;
  const Request& r_;
  Verdict v_;
  std::vector<std::string> path_;
  std::vector<uint32_t> classes_;
};

}  // namespace

bool holds(const Condition& c, const Caller& caller) {
  using K = Condition::Kind;
  auto in = [](const std::vector<Interval>& ids, uint32_t id) {
    auto it = std::upper_bound(ids.begin(), ids.end(), id,
                               [](uint32_t v, const Interval& i) { return v < i.lo; });
    return it != ids.begin() && std::prev(it)->hi >= id;
  };
  switch (c.kind) {
    case K::kTrue: return true;
    case K::kFalse: return false;
    case K::kNot: return !holds(c.operands.front(), caller);
    case K::kAnd:
      return std::all_of(c.operands.begin(), c.operands.end(),
                         [&](const Condition& o) { return holds(o, caller); });
    case K::kOr:
      return std::any_of(c.operands.begin(), c.operands.end(),
                         [&](const Condition& o) { return holds(o, caller); });
    case K::kUidIn: return in(c.ids, caller.uid);
    case K::kGidIn: return in(c.ids, caller.gid);
    case K::kCommIn:
      return std::binary_search(c.names.begin(), c.names.end(), std::string(caller.comm.substr(0, 15)));
  }
  return false;
}

Result<Verdict> evaluate(const Policy& policy, const Request& request) {
  return Evaluator(policy, request).run();
}

uint32_t path_class(const Policy& policy, std::string_view canonical_path) {
  uint32_t state = policy.dfa.run(policy.dfa.start, automata::encode_path(canonical_path));
  return static_cast<uint32_t>(policy.class_of_state[state]);
}

bool parse_op(std::string_view name, Op& out) { return op_from_name(name, out); }

}  // namespace fspol::ir
