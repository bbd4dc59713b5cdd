// The IR as bytes (codec.h). One description of the layout, `fields`,
// drives both directions: Out appends what In reads back.
#include "ir/codec.h"

#include <cstring>
#include <type_traits>

namespace fspol::ir {
namespace {

constexpr char kMagic[8] = {'F', 'S', 'P', 'O', 'L', 'I', 'R', '\0'};
constexpr uint32_t kVersion = 1;
constexpr int kMaxConditionDepth = 64;
constexpr uint8_t kRuleKinds = 0
#define FSPOL_RULE_KIND(name, layer, takes_ops, default_ops, clauses, caller, block) +1
#include "syntax/rule_kinds.def"
    ;
constexpr uint8_t kOptionNames = 0
#define FSPOL_OPTION(name, spelling, kind, words, meaning) +1
#include "syntax/options.def"
    ;

struct Out {
  std::string bytes;
  bool ok = true;

  template <typename T>
  void num(const T& value) {
    static_assert(std::is_integral_v<T> || std::is_enum_v<T>);
    for (size_t i = 0; i < sizeof value; ++i) {
      bytes.push_back(static_cast<char>((static_cast<uint64_t>(value) >> (8 * i)) & 0xff));
    }
  }
  void flag(const bool& value) { bytes.push_back(value ? 1 : 0); }
  void str(const std::string& s) {
    num(static_cast<uint32_t>(s.size()));
    bytes += s;
  }
  template <typename T, typename Each>
  void seq(const std::vector<T>& items, Each each) {
    num(static_cast<uint32_t>(items.size()));
    for (const T& item : items) each(const_cast<T&>(item));
  }
  template <typename T, typename Each>
  void opt(const std::optional<T>& item, Each each) {
    flag(item.has_value());
    if (item) each(const_cast<T&>(*item));
  }
  void fail(const char*) {}
};

struct In {
  std::string_view bytes;
  size_t at = 0;
  bool ok = true;
  std::string why;

  void fail(const char* what) {
    if (ok) why = what;
    ok = false;
  }
  bool take(size_t n) {
    if (!ok || bytes.size() - at < n) {
      fail("the bytes end too early");
      return false;
    }
    return true;
  }
  template <typename T>
  void num(T& value) {
    static_assert(std::is_integral_v<T> || std::is_enum_v<T>);
    if (!take(sizeof value)) return;
    uint64_t v = 0;
    for (size_t i = 0; i < sizeof value; ++i) {
      v |= uint64_t{static_cast<uint8_t>(bytes[at + i])} << (8 * i);
    }
    at += sizeof value;
    value = static_cast<T>(v);
  }
  void flag(bool& value) {
    uint8_t v = 0;
    num(v);
    if (v > 1) fail("a flag is neither 0 nor 1");
    value = v == 1;
  }
  void str(std::string& s) {
    uint32_t n = 0;
    num(n);
    if (!take(n)) return;
    s.assign(bytes.substr(at, n));
    at += n;
  }
  template <typename T, typename Each>
  void seq(std::vector<T>& items, Each each) {
    uint32_t n = 0;
    num(n);
    // Every item takes a byte at least: a count past the end is a lie.
    if (!ok || n > bytes.size() - at) return fail("a count runs past the end");
    items.assign(n, T{});
    for (T& item : items) {
      if (!ok) return;
      each(item);
    }
  }
  template <typename T, typename Each>
  void opt(std::optional<T>& item, Each each) {
    bool present = false;
    flag(present);
    if (!present || !ok) return;
    item.emplace();
    each(*item);
  }
};

template <typename S>
void range(S& s, SourceRange& r) {
  s.num(r.file);
  s.num(r.begin);
  s.num(r.end);
}

template <typename S>
void ref(S& s, SourceRef& r) {
  s.str(r.file);
  s.num(r.line);
  s.num(r.col);
}

template <typename S>
void interval(S& s, Interval& i) {
  s.num(i.lo);
  s.num(i.hi);
}

template <typename S>
void u32(S& s, uint32_t& v) {
  s.num(v);
}

template <typename S>
void string(S& s, std::string& v) {
  s.str(v);
}

template <typename S>
void condition(S& s, Condition& c, int depth) {
  if (depth > kMaxConditionDepth) return s.fail("conditions nest too deep");
  s.num(c.kind);
  if (c.kind > Condition::Kind::kCommIn) return s.fail("an unknown condition");
  s.seq(c.operands, [&](Condition& o) { condition(s, o, depth + 1); });
  s.seq(c.ids, [&](Interval& i) { interval(s, i); });
  s.seq(c.names, [&](std::string& n) { s.str(n); });
  if (c.kind == Condition::Kind::kNot && c.operands.size() != 1) {
    return s.fail("a 'not' without exactly one operand");
  }
}

template <typename S>
void id_rewrite(S& s, IdRewrite& r) {
  s.num(r.kind);
  if (r.kind > IdRewrite::Kind::kMap) return s.fail("an unknown id rewrite");
  s.num(r.value);
  s.num(r.offset);
  s.seq(r.mappings, [&](IdMapping& m) {
    interval(s, m.from);
    interval(s, m.to);
  });
}

template <typename S>
void attr(S& s, AttrRewrite& a) {
  s.opt(a.mode, [&](ModeRewrite& m) {
    s.num(m.and_mask);
    s.num(m.or_mask);
  });
  s.opt(a.uid, [&](IdRewrite& r) { id_rewrite(s, r); });
  s.opt(a.gid, [&](IdRewrite& r) { id_rewrite(s, r); });
  for (std::optional<int64_t>* t : {&a.atime, &a.mtime, &a.ctime}) {
    s.opt(*t, [&](int64_t& v) { s.num(v); });
  }
}

template <typename S>
void rule(S& s, Rule& r) {
  s.num(r.id);
  s.num(r.kind);
  if (static_cast<uint8_t>(r.kind) >= kRuleKinds) return s.fail("an unknown rule kind");
  s.num(r.ops);
  s.num(r.errno_value);
  s.str(r.errno_name);
  s.opt(r.condition, [&](Condition& c) { condition(s, c, 0); });
  attr(s, r.attr);
  s.seq(r.names, [&](NameMap& m) {
    s.flag(m.suffix);
    s.str(m.lower);
    s.str(m.view);
  });
  s.str(r.target_root);
  s.str(r.target_path);
  s.seq(r.target_components, [&](std::string& c) { string(s, c); });
  s.str(r.handler);
  s.str(r.tag);
  s.seq(r.selectors, [&](uint32_t& v) { u32(s, v); });
  ref(s, r.where);
  s.seq(r.via, [&](SourceRef& v) { ref(s, v); });
  range(s, r.range);
  s.seq(r.via_ranges, [&](SourceRange& v) { range(s, v); });
  range(s, r.condition_range);
}

template <typename S>
void entries(S& s, std::vector<Entry>& list) {
  s.seq(list, [&](Entry& e) {
    s.num(e.rule);
    s.num(e.types);
    s.flag(e.conditional);
  });
}

template <typename S, size_t N>
void entry_lists(S& s, std::array<std::vector<Entry>, N>& lists) {
  uint32_t n = N;
  s.num(n);
  if (n != N) return s.fail("a table has the wrong number of lists");
  for (auto& list : lists) entries(s, list);
}

template <typename S>
void fields(S& s, Policy& p) {
  s.str(p.name);
  s.seq(p.lowers, [&](Lower& l) {
    s.str(l.name);
    s.str(l.path);
  });
  s.seq(p.options, [&](Option& o) {
    s.num(o.name);
    if (static_cast<uint8_t>(o.name) >= kOptionNames) return s.fail("an unknown option");
    s.num(o.value.kind);
    if (o.value.kind > syntax::OptionValue::Kind::kBool) return s.fail("an unknown option value");
    s.num(o.value.number);
    s.str(o.value.text);
    range(s, o.value.range);
  });
  s.seq(p.rules, [&](Rule& r) { rule(s, r); });
  s.seq(p.selectors, [&](Selector& sel) {
    s.num(sel.rule);
    s.num(sel.types);
    s.str(sel.pattern);
    s.str(sel.literal_prefix);
    s.seq(sel.literal_components, [&](std::string& c) { string(s, c); });
    ref(s, sel.where);
    range(s, sel.range);
  });
  for (uint8_t& c : p.dfa.byte_class) s.num(c);
  s.num(p.dfa.class_count);
  s.num(p.dfa.start);
  s.seq(p.dfa.next, [&](uint32_t& v) { u32(s, v); });
  s.seq(p.dfa.accepts,
        [&](std::vector<uint32_t>& a) { s.seq(a, [&](uint32_t& v) { u32(s, v); }); });
  s.seq(p.class_of_state, [&](int32_t& v) { s.num(v); });
  s.seq(p.classes, [&](PathClass& c) {
    s.num(c.state);
    s.str(c.example);
    s.seq(c.matches, [&](Match& m) {
      s.num(m.rule);
      s.num(m.types);
    });
    s.flag(c.visible);
    s.seq(c.children, [&](uint32_t& v) { u32(s, v); });
  });
  s.seq(p.tables, [&](ClassTable& t) {
    entries(s, t.hidden);
    entry_lists(s, t.access);
    entry_lists(s, t.attr);
    entries(s, t.names);
    entries(s, t.placement);
    entry_lists(s, t.handler);
    entry_lists(s, t.audit);
  });
  s.seq(p.casefold_roots, [&](std::string& c) { string(s, c); });
  s.num(p.stats.dfa.nfa_states);
  s.num(p.stats.dfa.dfa_states_before_minimization);
  s.num(p.stats.dfa.dfa_states);
  s.num(p.stats.dfa.input_classes);
  s.num(p.stats.rules);
  s.num(p.stats.selectors);
  s.num(p.stats.path_classes);
}

// Every path component leads from a class to a class: the states a real
// name's bytes reach from a class state (neither "." nor "..", which
// never come, and no NUL), followed by '/', are classes. ir_eval and the
// engine step from class to class.
const char* check_components(const Policy& p) {
  const automata::Dfa& d = p.dfa;
  if (p.class_of_state[d.start] != 0) return "the root is not class 0";
  for (size_t s = 0; s < p.class_of_state.size(); ++s) {
    int32_t c = p.class_of_state[s];
    if (c >= 0 && p.classes[static_cast<size_t>(c)].state != s)
      return "a class and its state disagree";
  }
  // One byte of each input class ('.' on its own: it may begin "." or "..").
  std::vector<uint8_t> bytes = {'.'};
  std::vector<char> covered(d.class_count, 0);
  for (size_t b = 1; b < 256; ++b) {
    if (b == '/' || b == '.' || covered[d.byte_class[b]]) continue;
    covered[d.byte_class[b]] = 1;
    bytes.push_back(static_cast<uint8_t>(b));
  }
  // (state, what the component is so far: nothing, ".", "..", a real name)
  enum Seen : uint8_t { kEmpty, kDot, kDotDot, kName };
  std::vector<char> visited(d.accepts.size() * 4, 0);
  std::vector<std::pair<uint32_t, Seen>> work;
  for (const PathClass& c : p.classes) work.emplace_back(c.state, kEmpty);
  while (!work.empty()) {
    auto [s, seen] = work.back();
    work.pop_back();
    char& mark = visited[size_t{s} * 4 + seen];
    if (mark) continue;
    mark = 1;
    if (seen == kName && p.class_of_state[d.step(s, '/')] < 0) {
      return "a component ends outside every class";
    }
    for (uint8_t b : bytes) {
      Seen after = b == '.' && seen == kEmpty ? kDot : b == '.' && seen == kDot ? kDotDot : kName;
      work.emplace_back(d.step(s, b), after);
    }
  }
  return nullptr;
}

// Each decision list holds rules of its layer; an attribute list, rules
// that set its field.
const char* check_tables(const Policy& p) {
  using syntax::Layer;
  auto layer = [&](uint32_t rule) { return syntax::rule_kind_info(p.rules[rule].kind).layer; };
  auto all_in = [&](const std::vector<Entry>& list, Layer want) {
    for (const Entry& e : list) {
      if (layer(e.rule) != want) return false;
    }
    return true;
  };
  for (const ClassTable& t : p.tables) {
    bool ok = all_in(t.hidden, Layer::kVisibility) && all_in(t.names, Layer::kNames) &&
              all_in(t.placement, Layer::kPlacement);
    for (const auto& list : t.access) ok = ok && all_in(list, Layer::kAccess);
    for (const auto& list : t.handler) ok = ok && all_in(list, Layer::kUserspace);
    for (const auto& list : t.audit) ok = ok && all_in(list, Layer::kAudit);
    for (size_t f = 0; f < kAttrFieldCount; ++f) {
      for (const Entry& e : t.attr[f]) {
        ok = ok && layer(e.rule) == Layer::kAttributes &&
             sets(p.rules[e.rule].attr, static_cast<AttrField>(f));
      }
    }
    if (!ok) return "a decision table holds a rule of another kind";
  }
  return nullptr;
}

// What the engine and ir_eval index without checking.
const char* check_indices(const Policy& p) {
  size_t rules = p.rules.size(), selectors = p.selectors.size(), classes = p.classes.size();
  for (size_t i = 0; i < rules; ++i) {
    const Rule& r = p.rules[i];
    if (r.id != i) return "a rule's id is not its index";
    if (r.ops & ~kAllOps) return "a rule names an unknown operation";
    for (uint32_t s : r.selectors) {
      if (s >= selectors) return "a rule names a selector that is not there";
    }
  }
  for (const Selector& s : p.selectors) {
    if (s.rule >= rules) return "a selector names a rule that is not there";
  }
  const automata::Dfa& d = p.dfa;
  size_t states = d.accepts.size();
  if (states == 0 || d.class_count == 0 || d.start >= states) return "the automaton is empty";
  if (d.next.size() != states * d.class_count) return "the automaton's table has the wrong size";
  for (uint8_t c : d.byte_class) {
    if (c >= d.class_count) return "a byte maps to an input class that is not there";
  }
  for (uint32_t n : d.next) {
    if (n >= states) return "a transition leads to a state that is not there";
  }
  for (const auto& accepted : d.accepts) {
    for (uint32_t s : accepted) {
      if (s >= selectors) return "a state accepts a selector that is not there";
    }
  }
  if (p.class_of_state.size() != states) return "the class of some state is missing";
  for (int32_t c : p.class_of_state) {
    if (c < -1 || c >= static_cast<int64_t>(classes))
      return "a state has a class that is not there";
  }
  if (classes == 0 || p.tables.size() != classes) return "the classes and their tables differ";
  for (const PathClass& c : p.classes) {
    if (c.state >= states) return "a class names a state that is not there";
    for (uint32_t child : c.children) {
      if (child >= classes) return "a class has a child class that is not there";
    }
    for (const Match& m : c.matches) {
      if (m.rule >= rules) return "a class matches a rule that is not there";
    }
  }
  auto bad = [&](const std::vector<Entry>& list) {
    for (const Entry& e : list) {
      if (e.rule >= rules) return true;
    }
    return false;
  };
  for (const ClassTable& t : p.tables) {
    bool wrong = bad(t.hidden) || bad(t.names) || bad(t.placement);
    for (const auto& list : t.access) wrong = wrong || bad(list);
    for (const auto& list : t.attr) wrong = wrong || bad(list);
    for (const auto& list : t.handler) wrong = wrong || bad(list);
    for (const auto& list : t.audit) wrong = wrong || bad(list);
    if (wrong) return "a decision table names a rule that is not there";
  }
  return nullptr;
}

}  // namespace

std::string encode(const Policy& policy) {
  Out out;
  out.bytes.append(kMagic, sizeof kMagic);
  out.num(kVersion);
  fields(out, const_cast<Policy&>(policy));
  return std::move(out.bytes);
}

Result<Policy> decode(std::string_view bytes) {
  if (bytes.size() < sizeof kMagic || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0) {
    return Error{EINVAL, "not a compiled fspol policy (no FSPOLIR header)"};
  }
  In in;
  in.bytes = bytes;
  in.at = sizeof kMagic;
  uint32_t version = 0;
  in.num(version);
  if (in.ok && version != kVersion) {
    return Error{EINVAL, "a compiled fspol policy of format " + std::to_string(version) +
                             "; this runtime reads format " + std::to_string(kVersion) +
                             " (compile it again with this fspol's fsc)"};
  }
  Policy policy;
  fields(in, policy);
  if (in.ok && in.at != bytes.size()) in.fail("bytes follow the policy");
  if (!in.ok) return Error{EINVAL, "a damaged compiled fspol policy: " + in.why};
  const char* why = check_indices(policy);
  if (why == nullptr) why = check_components(policy);
  if (why == nullptr) why = check_tables(policy);
  if (why != nullptr) {
    return Error{EINVAL, std::string("a damaged compiled fspol policy: ") + why};
  }
  return policy;
}

}  // namespace fspol::ir
