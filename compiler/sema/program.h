#pragma once
// The resolved policy: what semantic analysis hands to the automata and
// the IR. Imports are loaded, `use`s spliced in order, `let`s expanded,
// names and ids resolved, operation classes expanded to atoms, conditions
// normalised to interval sets. Everything refers back to its source.
//
//   policy p { let s = "/a"; deny write on s when uid != 0; }
// becomes one Rule: kind deny, ops {write}, selectors ["/a"], errno EACCES,
// condition (not (uid in [0,0])).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fspol/source.h"
#include "sema/operations.h"
#include "syntax/ast.h"
#include "syntax/glob.h"
#include "syntax/parser.h"

namespace fspol::sema {

struct Interval {
  uint32_t lo = 0;
  uint32_t hi = 0;
  bool operator==(const Interval&) const = default;
};

// A condition on the caller, with every comparison reduced to membership.
struct Condition {
  enum class Kind : uint8_t { kTrue, kFalse, kAnd, kOr, kNot, kUidIn, kGidIn, kCommIn };
  Kind kind = Kind::kTrue;
  std::vector<Condition> operands;  // kAnd, kOr (two or more), kNot (one)
  std::vector<Interval> ids;        // kUidIn, kGidIn: sorted, disjoint, not adjacent
  std::vector<std::string> names;   // kCommIn: sorted, unique
};

struct Selector {
  syntax::Glob glob;
  uint8_t types = 0;    // syntax::FileTypeBit set; 0 = any type
  std::string pattern;  // the glob as written (raw), for messages and the IR
  SourceRange range;    // the pattern's string literal
};

// mode' = (mode & and_mask) | or_mask, on the 07777 bits.
struct ModeRewrite {
  uint32_t and_mask = 07777;
  uint32_t or_mask = 0;
};

struct IdMapping {
  Interval from;
  Interval to;  // same length as `from`
};

struct IdRewrite {
  enum class Kind : uint8_t { kSet, kOffset, kMap };
  Kind kind = Kind::kSet;
  uint32_t value = 0;   // kSet
  int64_t offset = 0;   // kOffset
  std::vector<IdMapping> mappings;  // kMap, sorted by from.lo
};

struct AttrRewrite {
  std::optional<ModeRewrite> mode;
  std::optional<IdRewrite> uid;
  std::optional<IdRewrite> gid;
  std::optional<int64_t> atime;
  std::optional<int64_t> mtime;
  std::optional<int64_t> ctime;
};

struct NameMap {
  bool suffix = true;  // else prefix
  std::string lower;   // the part as stored on the lower filesystem
  std::string view;    // the part as shown in the view
};

struct Rule {
  syntax::RuleKind kind = syntax::RuleKind::kHide;
  const syntax::Rule* ast = nullptr;
  OpSet ops = 0;
  std::vector<Selector> selectors;
  int errno_value = 0;  // deny, readonly
  std::string errno_name;
  std::optional<Condition> condition;  // nullopt: always
  AttrRewrite attr;
  std::vector<NameMap> names;
  std::string target_root;  // redirect
  std::string target_path;  // redirect, "/" when omitted
  std::string handler;      // handle
  std::string tag;          // audit
  std::vector<SourceRange> via;  // the `use` declarations that brought it in
  // The rule's keyword, for "rule at file:line" in messages and the IR.
  SourceRange where() const { return ast->keyword; }
};

struct Lower {
  std::string name;
  std::string path;  // empty for `main`, which is given at mount time
  SourceRange range;
};

struct Option {
  syntax::OptionName name;
  syntax::OptionValue value;
};

struct Program {
  bool is_policy = true;  // false when the checked file is a module
  std::string name;
  FileId file = 0;
  std::vector<Lower> lowers;  // main first
  std::vector<Option> options;
  std::vector<Rule> rules;    // in resolution order
  std::vector<FileId> files;  // every file read (the policy first), for depfiles
  // Imported modules' syntax trees, kept alive for the Rule::ast pointers.
  std::vector<std::unique_ptr<syntax::ParsedFile>> modules;
};

}  // namespace fspol::sema
