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
#include "ir/types.h"
#include "sema/operations.h"
#include "syntax/ast.h"
#include "syntax/glob.h"
#include "syntax/parser.h"

namespace fspol::sema {

// The semantic model's value types are the IR's (ir/types.h): sema
// produces them, the IR keeps them.
using ir::AttrRewrite;
using ir::Condition;
using ir::IdMapping;
using ir::IdRewrite;
using ir::Interval;
using ir::ModeRewrite;
using ir::NameMap;
using ir::Option;

struct Selector {
  syntax::Glob glob;
  uint8_t types = 0;    // syntax::FileTypeBit set; 0 = any type
  std::string pattern;  // the glob as written (raw), for messages and the IR
  SourceRange range;    // the pattern's string literal
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
