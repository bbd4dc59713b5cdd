// The decisions of a plan as data (decision_program.h).
#include "codegen/decision_program.h"

#include <linux/fuse.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <map>

namespace fspol::codegen {

namespace {

using plan::Chain;
using plan::Decision;
using plan::Filter;
using plan::Test;

struct OpText {
  std::string_view name;
  std::string_view meaning;
};
constexpr OpText kOps[] = {
#define FSPOL_VM_OP(name, meaning) {#name, meaning},
#include "codegen/vm_ops.def"
};

std::string errno_name(int error) {
  struct Row {
    std::string_view name;
    int value;
  };
  static constexpr Row kErrnos[] = {
#define FSPOL_ERRNO(name, value) {#name, value},
#include "syntax/errnos.def"
  };
  for (const Row& r : kErrnos) {
    if (r.value == error) return std::string(r.name);
  }
  return std::to_string(error);
}

// Labels stand for ops not yet written; finish() turns them into indexes.
using Label = uint32_t;
constexpr Label kNext = UINT32_MAX;  // the op right after

class Assembler {
 public:
  Assembler(const ir::Policy& policy, DecisionProgram& out) : p_(policy), out_(out) {
    bound_.push_back(0);  // label 0: op 0, return BPF_FUSE_CONTINUE (no filter's program)
    starts_.insert(0);
    emit(VmOp::RET, 0, plan::kContinue, 0, 0, kNext, kNext, "no decision: continue");
  }

  // The first op of a set's filter.
  Label filter(const Filter& f) {
    if (f.where == plan::Where::kDaemon) {
      std::string key = "daemon " + std::to_string(f.daemon_result);
      auto [it, fresh] = programs_.emplace(key, 0);
      if (fresh) {
        it->second = start();
        emit(VmOp::RET, 0, static_cast<uint32_t>(f.daemon_result), 0, 0, kNext, kNext, f.reason);
      }
      return it->second;
    }
    if (!f.by_name) return decision_program(f.node);
    // By name: the ops of each child class, then the search among them.
    std::vector<std::pair<uint32_t, Label>> classes;
    for (size_t k = 0; k < f.children.size();) {
      uint32_t cls = f.children[k].cls;
      size_t end = k;
      while (end < f.children.size() && f.children[end].cls == cls) ++end;
      classes.emplace_back(cls, class_program(f, k, end));
      k = end;
    }
    std::sort(classes.begin(), classes.end());
    std::string key = "search";
    for (const auto& [cls, l] : classes) key += " " + std::to_string(cls) + ":" + std::to_string(l);
    auto [it, fresh] = programs_.emplace(key, 0);
    if (fresh) {
      it->second = start();
      auto first = static_cast<uint32_t>(children_.size());
      children_.insert(children_.end(), classes.begin(), classes.end());
      emit(VmOp::SEARCH, 0, first, static_cast<uint32_t>(classes.size()), 0, kNext, 0,
           "the child's class");
    }
    return it->second;
  }

  // Labels to op indexes; the steps a run may take.
  void finish() {
    auto resolve = [&](Label l, size_t at) -> uint32_t {
      if (l == kNext) return static_cast<uint32_t>(at + 1);
      if (bound_[l] == UINT32_MAX) std::abort();
      return bound_[l];
    };
    for (size_t i = 0; i < out_.ops.size(); ++i) {
      VmRow& r = out_.ops[i];
      r.t = resolve(r.t, i);
      r.f = resolve(r.f, i);
      // Within a program, forward only; between programs, from a search
      // to a class's, from a class's to a decision's: no run visits an op
      // twice.
      if (r.op == VmOp::RET) {
        r.t = r.f = 0;  // unused
        continue;
      }
      for (uint32_t to : {r.t, r.f}) {
        if (to <= i && !starts_.count(to)) std::abort();
      }
    }
    for (auto& [cls, l] : children_) out_.children.emplace_back(cls, resolve(l, 0));
    // A run: a search (a step per halving) and then each op at most once.
    size_t halvings = 1;
    while ((size_t{1} << halvings) <= children_.size()) ++halvings;
    out_.max_steps = static_cast<uint32_t>(out_.ops.size() + halvings + 1);
  }

  uint32_t resolved(Label l) const { return bound_[l]; }

 private:
  Label label() {
    bound_.push_back(UINT32_MAX);
    return static_cast<Label>(bound_.size() - 1);
  }
  void bind(Label l) { bound_[l] = static_cast<uint32_t>(out_.ops.size()); }
  // The first op of a program: the only op a jump may go back to.
  Label start() {
    Label l = label();
    bind(l);
    starts_.insert(bound_[l]);
    return l;
  }
  void emit(VmOp op, uint8_t field, uint32_t a, uint32_t b, uint32_t c, Label t, Label f,
            std::string note) {
    out_.ops.push_back({op, field, a, b, c, t, f, std::move(note)});
  }

  std::string rule_note(const Test& t) const {
    const ir::Rule& rule = p_.rules[t.rule];
    return rule.where.str() + " " + std::string(syntax::rule_keyword(rule.kind));
  }

  // The ops of one child class of a by-name filter: its rows, by file type.
  Label class_program(const Filter& f, size_t from, size_t to) {
    std::vector<Label> decisions;  // written first: this program's ops stay together
    std::string key = "class";
    for (size_t k = from; k < to; ++k) {
      decisions.push_back(decision_program(f.children[k].decision));
      key += " " + std::to_string(f.children[k].types) + ":" + std::to_string(decisions.back());
    }
    // One row for every type: the search goes to the decision itself.
    if (to == from + 1 && f.children[from].types == 0) return decisions[0];
    auto [it, fresh] = programs_.emplace(key, 0);
    if (!fresh) return it->second;
    it->second = start();
    for (size_t k = from; k < to; ++k) {
      const Filter::Child& c = f.children[k];
      std::string note = "'" + p_.classes[c.cls].example + "'";
      if (c.types == 0) {
        emit(VmOp::JMP, 0, 0, 0, 0, decisions[k - from], kNext, note);
        return it->second;
      }
      emit(VmOp::TYPE, 0, c.types, 0, 0, decisions[k - from], kNext, note);
    }
    emit(VmOp::RET, 0, plan::kContinue, 0, 0, kNext, kNext, "no type matched");
    return it->second;
  }

  // A decision's ops, written once per distinct decision.
  Label decision_program(const Decision& d) {
    std::string key = decision_key(d);
    auto it = programs_.find(key);
    if (it != programs_.end()) return it->second;
    Label first = start();
    decision(d);
    programs_.emplace(key, first);
    return first;
  }

  std::string decision_key(const Decision& d) const {
    std::string k = back_ ? "decision mapping ids back " : "decision ";
    auto tests = [&](const std::vector<Test>& list) {
      for (const Test& t : list) {
        k += std::to_string(t.rule) + (t.conditional ? "?" : "") + "=" + std::to_string(t.error) + ",";
      }
      k += ";";
    };
    for (const Chain& c : d.chains) {
      k += std::to_string(c.arg_atom) + ":";
      tests(c.tests);
    }
    for (const auto& field : d.attr) tests(field);
    return k + "then " + std::to_string(d.then) + " set " + std::to_string(d.child_set);
  }

  // A chain that ends every request it sees: nothing after it runs.
  static bool terminal(const Chain& c) {
    return c.arg_atom < 0 && !c.tests.empty() && !c.tests.back().conditional &&
           c.tests.back().error != 0;
  }

  void decision(const Decision& d) {
    for (const Chain& c : d.chains) {
      chain(c);
      if (terminal(c)) return;
    }
    bool attrs = std::any_of(d.attr.begin(), d.attr.end(), [](const auto& f) { return !f.empty(); });
    if (attrs) {
      Label done = label();
      emit(VmOp::ATTRS, 0, 0, 0, 0, kNext, done, "attributes");
      for (size_t f = 0; f < ir::kAttrFieldCount; ++f) {
        attr_field(static_cast<ir::AttrField>(f), d.attr[f]);
      }
      bind(done);
    }
    if (d.child_set >= 0) {
      emit(VmOp::CHILD, 0, static_cast<uint32_t>(d.child_set), 0, 0, kNext, kNext,
           "the child's node state");
    }
    emit(VmOp::RET, 0, static_cast<uint32_t>(d.then), 0, 0, kNext, kNext,
         d.then_reason.empty() ? "no rule refused" : d.then_reason);
  }

  void chain(const Chain& c) {
    if (c.tests.empty()) return;
    Label next = label();
    if (c.arg_atom >= 0) {
      out_.arg_rows.insert(c.arg_atom);
      emit(VmOp::ARG, 0, static_cast<uint32_t>(c.arg_atom), 0, 0, kNext, next, c.what);
    }
    for (const Test& t : c.tests) {
      std::string note = rule_note(t);
      if (t.error != 0) note += ": " + errno_name(t.error);
      if (!t.conditional) {
        if (t.error != 0) emit(VmOp::RET, 0, static_cast<uint32_t>(-t.error), 0, 0, kNext, kNext, note);
        break;
      }
      Label no = label();
      if (t.error == 0) {
        condition(*p_.rules[t.rule].condition, next, no, note);
      } else {
        Label yes = label();
        condition(*p_.rules[t.rule].condition, yes, no, note);
        bind(yes);
        emit(VmOp::RET, 0, static_cast<uint32_t>(-t.error), 0, 0, kNext, kNext, note);
      }
      bind(no);
    }
    bind(next);
  }

  // Jumps to `yes` when the caller meets `c`, else to `no`.
  void condition(const ir::Condition& c, Label yes, Label no, const std::string& note) {
    using K = ir::Condition::Kind;
    switch (c.kind) {
      case K::kTrue: emit(VmOp::JMP, 0, 0, 0, 0, yes, kNext, note); return;
      case K::kFalse: emit(VmOp::JMP, 0, 0, 0, 0, no, kNext, note); return;
      case K::kNot: condition(c.operands[0], no, yes, note); return;
      case K::kAnd:
      case K::kOr:
        for (size_t i = 0; i + 1 < c.operands.size(); ++i) {
          Label next = label();
          if (c.kind == K::kAnd) {
            condition(c.operands[i], next, no, note);
          } else {
            condition(c.operands[i], yes, next, note);
          }
          bind(next);
        }
        condition(c.operands.back(), yes, no, note);
        return;
      case K::kUidIn:
      case K::kGidIn: {
        VmOp op = c.kind == K::kUidIn ? VmOp::UID : VmOp::GID;
        if (c.ids.empty()) emit(VmOp::JMP, 0, 0, 0, 0, no, kNext, note);
        for (size_t i = 0; i < c.ids.size(); ++i) {
          emit(op, 0, c.ids[i].lo, c.ids[i].hi, 0, yes, i + 1 == c.ids.size() ? no : kNext, note);
        }
        return;
      }
      case K::kCommIn: {
        // A name the kernel would cut (over 15 bytes) never matches, as
        // in ir_eval.
        std::vector<uint32_t> names;
        for (const std::string& name : c.names) {
          if (name.size() <= 15) names.push_back(comm(name));
        }
        if (names.empty()) emit(VmOp::JMP, 0, 0, 0, 0, no, kNext, note);
        for (size_t i = 0; i < names.size(); ++i) {
          emit(VmOp::COMM, 0, names[i], 0, 0, yes, i + 1 == names.size() ? no : kNext, note);
        }
        return;
      }
    }
    std::abort();
  }

  uint32_t comm(const std::string& name) {
    auto it = std::find(out_.comms.begin(), out_.comms.end(), name);
    if (it == out_.comms.end()) it = out_.comms.insert(it, name);
    return static_cast<uint32_t>(it - out_.comms.begin());
  }

  // One field's first-match list of attr rules: the rewrite (a
  // postfilter), or for the setattr prefilter the id a chown asks for
  // mapped back to the lower one (only when the request sets the field).
  void attr_field(ir::AttrField field, const std::vector<Test>& tests) {
    if (tests.empty()) return;
    bool ids = field == ir::AttrField::kUid || field == ir::AttrField::kGid;
    Label end = label();
    if (back_ && ids) {
      emit(VmOp::VALID, 0, field == ir::AttrField::kUid ? FATTR_UID : FATTR_GID, 0, 0, kNext, end,
           "a chown");
    }
    for (const Test& t : tests) {
      const ir::Rule& rule = p_.rules[t.rule];
      std::string note = rule_note(t) + " " + std::string(ir::attr_field_name(field));
      Label next = label();
      if (t.conditional) {
        Label yes = label();
        condition(*rule.condition, yes, next, note);
        bind(yes);
      }
      rewrite(field, rule.attr, end, note);
      bind(next);
      if (!t.conditional) break;
    }
    bind(end);
  }

  void rewrite(ir::AttrField field, const ir::AttrRewrite& r, Label end, const std::string& note) {
    auto split = [](int64_t v) {
      auto u = static_cast<uint64_t>(v);
      return std::pair<uint32_t, uint32_t>(static_cast<uint32_t>(u), static_cast<uint32_t>(u >> 32));
    };
    switch (field) {
      case ir::AttrField::kMode:
        emit(VmOp::MODE, 0, r.mode->and_mask, r.mode->or_mask, 0, end, end, note);
        return;
      case ir::AttrField::kUid:
      case ir::AttrField::kGid: {
        uint8_t id = field == ir::AttrField::kGid;
        const ir::IdRewrite& rw = field == ir::AttrField::kUid ? *r.uid : *r.gid;
        switch (rw.kind) {
          case ir::IdRewrite::Kind::kSet:
            emit(back_ ? VmOp::ID_EXPECT : VmOp::ID_SET, id, rw.value, 0, 0, end, end, note);
            return;
          case ir::IdRewrite::Kind::kOffset: {
            // Shifted out of range: the overflow id (ir::rewrite_id), or
            // mapped back, no lower id shows so (ir::lower_id).
            auto [lo, hi] = split(back_ ? -rw.offset : rw.offset);
            emit(VmOp::ID_ADD, id, lo, hi, back_ ? EPERM : 0, end, end, note);
            return;
          }
          case ir::IdRewrite::Kind::kMap:
            for (const ir::IdMapping& m : rw.mappings) {
              const ir::Interval& from = back_ ? m.to : m.from;
              const ir::Interval& to = back_ ? m.from : m.to;
              emit(VmOp::ID_MAP, id, from.lo, from.hi, to.lo, end, kNext, note);
            }
            // Mapped back, an id the map moves elsewhere cannot show as itself.
            if (back_) {
              for (const ir::IdMapping& m : rw.mappings) {
                emit(VmOp::ID_DENY, id, m.from.lo, m.from.hi, 0, kNext, kNext, note);
              }
            }
            emit(VmOp::JMP, 0, 0, 0, 0, end, kNext, note);
            return;
        }
        std::abort();
      }
      case ir::AttrField::kAtime:
      case ir::AttrField::kMtime:
      case ir::AttrField::kCtime: {
        uint8_t which = static_cast<uint8_t>(field) - static_cast<uint8_t>(ir::AttrField::kAtime);
        const std::optional<int64_t>& v =
            field == ir::AttrField::kAtime ? r.atime : field == ir::AttrField::kMtime ? r.mtime : r.ctime;
        auto [lo, hi] = split(*v);
        emit(VmOp::TIME, which, lo, hi, 0, end, end, note);
        return;
      }
    }
    std::abort();
  }

 public:
  bool back_ = false;  // the setattr prefilter: attr rules map ids back

 private:
  const ir::Policy& p_;
  DecisionProgram& out_;
  std::vector<uint32_t> bound_;  // per label: its op, UINT32_MAX until bound
  std::vector<std::pair<uint32_t, Label>> children_;
  std::map<std::string, Label> programs_;  // written programs, by what they decide
  std::set<uint32_t> starts_;               // their first ops
};

}  // namespace

std::string_view vm_op_name(VmOp op) { return kOps[static_cast<size_t>(op)].name; }
std::string_view vm_op_meaning(VmOp op) { return kOps[static_cast<size_t>(op)].meaning; }

bool has_program(const Filter& f, bool post) {
  return post ? f.where == plan::Where::kKernel : f.where != plan::Where::kNone;
}

DecisionProgram assemble_decisions(const ir::Policy& policy, const plan::Plan& plan) {
  DecisionProgram out;
  Assembler as(policy, out);
  std::array<std::vector<Label>, plan::kCallbackCount * 2> labels;
  for (size_t i = 0; i < plan::kCallbackCount * 2; ++i) {
    auto cb = static_cast<plan::Callback>(i / 2);
    bool post = i % 2 == 1;
    // Map-back programs differ from rewrites of the same rules: keep them
    // apart from the other callbacks' (the key says which).
    as.back_ = cb == plan::Callback::setattr && !post;
    bool any = false;
    std::vector<Label> at(plan.sets.size(), 0);
    for (uint32_t s = 0; s < plan.sets.size(); ++s) {
      const plan::ProgramSet& set = plan.sets[s];
      const Filter& f = post ? set.filters[i / 2].post : set.filters[i / 2].pre;
      // A listing runs the set's lookup filters, not a program of its own.
      if (set.passthrough || !has_program(f, post) || f.lists) continue;
      at[s] = as.filter(f);
      any = true;
    }
    if (any) labels[i] = std::move(at);
  }
  as.finish();
  for (size_t i = 0; i < labels.size(); ++i) {
    for (Label l : labels[i]) out.entry[i].push_back(as.resolved(l));
  }
  return out;
}

}  // namespace fspol::codegen
