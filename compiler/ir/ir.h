#pragma once
// The policy IR: the compiled meaning of a policy.
//
// A Policy is the rules in resolution order (with their resolved fields and
// their source), one minimal DFA over path bytes whose accepting states
// name selectors, and the path classes with, for each class, the rules
// whose selectors match there. Everything the runtime, the BPF backend and
// `fsc explain` need comes from here; ir_eval.h defines how a request is
// decided, and ir_printer.h prints it (`fsc compile --emit=ir`).

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "automata/dfa.h"
#include "fspol/source.h"
#include "ir/types.h"
#include "syntax/ast.h"

namespace fspol::ir {

// Where a rule was written: "examples/x.fspol:12:3", as text that outlives
// the sources.
struct SourceRef {
  std::string file;
  uint32_t line = 0;
  uint32_t col = 0;
  std::string str() const { return file + ":" + std::to_string(line); }
};

struct Rule {
  uint32_t id = 0;  // index in Policy::rules: resolution order
  syntax::RuleKind kind = syntax::RuleKind::kHide;
  OpSet ops = 0;
  int errno_value = 0;
  std::string errno_name;
  std::optional<Condition> condition;
  AttrRewrite attr;
  std::vector<NameMap> names;
  std::string target_root;
  std::string target_path;
  std::vector<std::string> target_components;  // target_path, split
  std::string handler;
  std::string tag;
  std::vector<uint32_t> selectors;  // indexes into Policy::selectors
  // Where it was written, as text ("file:line") and as source ranges for
  // diagnostics (valid while the compiler's sources live).
  SourceRef where;
  std::vector<SourceRef> via;  // `use` sites, outermost first
  SourceRange range;           // the rule's keyword
  std::vector<SourceRange> via_ranges;
  SourceRange condition_range;  // the when/unless clause, if any
};

struct Selector {
  uint32_t rule = 0;
  uint8_t types = 0;  // 0: any
  std::string pattern;
  std::string literal_prefix;  // leading literal components ("/" if none)
  std::vector<std::string> literal_components;  // the same, split (none for "/")
  SourceRef where;
  SourceRange range;
};

// A rule whose selectors match the paths of a class, and for which file
// types (the union over its matching selectors; 0 means any type).
struct Match {
  uint32_t rule = 0;
  uint8_t types = 0;
};

struct PathClass {
  uint32_t state = 0;
  std::string example;
  std::vector<Match> matches;     // sorted by rule id
  // Some path of the class has no ancestor hidden from everyone (the
  // example is one). Below a hidden directory every request answers
  // ENOENT whatever the class says: a path's state is its class and the
  // hides of its ancestors (see ClassTable::hidden).
  bool visible = true;
  std::vector<uint32_t> children;  // the classes of its children
};

// One entry of a decision list.
struct Entry {
  uint32_t rule = 0;
  uint8_t types = 0;         // the file types it applies to; 0: every type
  bool conditional = false;  // the rule has a caller condition
  bool always() const { return types == 0 && !conditional; }
};

// The attribute fields an `attr` rule may set, in the order they print.
enum class AttrField : uint8_t { kMode, kUid, kGid, kAtime, kMtime, kCtime };
inline constexpr size_t kAttrFieldCount = 6;
std::string_view attr_field_name(AttrField field);
bool sets(const AttrRewrite& rewrite, AttrField field);

// A path class's decision tables (ir/decide.h).
struct ClassTable {
  // Visibility: the hide rules matching the path itself (ENOENT, and
  // EACCES for a request that would create the name). Those that apply to
  // a directory also hide everything below it: a request's path is hidden
  // when an ancestor's table hides it as a directory (ENOENT), or its own
  // table hides it. Any applying entry decides.
  std::vector<Entry> hidden;
  // Access, per operation atom: the deny, allow and readonly rules that
  // cover it, first match.
  std::array<std::vector<Entry>, kOpCount> access;
  // Attributes, per field, first match.
  std::array<std::vector<Entry>, kAttrFieldCount> attr;
  std::vector<Entry> names;      // rename rules, first match
  std::vector<Entry> placement;  // redirect rules, first match
  std::array<std::vector<Entry>, kOpCount> handler;  // first match
  std::array<std::vector<Entry>, kOpCount> audit;    // every one applies
};

struct Lower {
  std::string name;
  std::string path;  // empty for main: given at mount time
};

struct Stats {
  automata::DfaStats dfa;
  uint32_t rules = 0;
  uint32_t selectors = 0;
  uint32_t path_classes = 0;
};

struct Policy {
  std::string name;
  std::vector<Lower> lowers;
  std::vector<Option> options;
  std::vector<Rule> rules;
  std::vector<Selector> selectors;
  automata::Dfa dfa;
  std::vector<int32_t> class_of_state;  // -1 for states inside components
  std::vector<PathClass> classes;       // class 0 is the root's
  std::vector<ClassTable> tables;       // per class (decide.h)
  // Literal directories whose subtrees are case-insensitive, from
  // casefold rules, in rule order.
  std::vector<std::string> casefold_roots;
  Stats stats;
};

}  // namespace fspol::ir
