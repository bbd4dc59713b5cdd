#pragma once
// The abstract syntax tree of one .fspol file.
//
// Plain value types: a File owns everything below it. Every node keeps its
// source range so later passes can point diagnostics at it. The tree records
// what was written (`unless` stays `unless`, a set stays a set); `fsc fmt`
// prints it back in canonical layout, and ast_dump() renders it compactly
// for tests and for checking that formatting preserves meaning.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "fspol/source.h"

namespace fspol::syntax {

enum class Operation : uint8_t {
#define FSPOL_OPERATION(name, spelling, covers) name,
#include "syntax/operations.def"
};

enum class OptionName : uint8_t {
#define FSPOL_OPTION(name, spelling, kind, words, meaning) name,
#include "syntax/options.def"
};

// A row of options.def: how an option's value is written and checked. The
// parser reads policies' `option`s with it, the runtime `-o` lists.
enum class OptionKind : uint8_t { kBool, kInt, kDuration, kString, kEnum };
struct OptionInfo {
  std::string_view spelling;
  OptionName name;
  OptionKind kind;
  std::string_view words;  // kEnum: comma-separated
};
const std::vector<OptionInfo>& option_table();

// File-type filters on selectors, as a bit set (0 means "any type").
enum FileTypeBit : uint8_t {
  kTypeFile = 1 << 0,
  kTypeDir = 1 << 1,
  kTypeSymlink = 1 << 2,
  kTypeFifo = 1 << 3,
  kTypeSocket = 1 << 4,
  kTypeChardev = 1 << 5,
  kTypeBlockdev = 1 << 6,
  kTypeAny = (1 << 7) - 1,  // every type
};

struct Ident {
  std::string name;
  SourceRange range;
};

// a.b.c: a module path or a reference to a name in an imported module.
struct QualifiedName {
  std::vector<Ident> parts;
  SourceRange range;
  std::string str() const;
};

struct StringLit {
  std::string raw;    // the characters between the quotes, escapes intact
  std::string value;  // with \xHH and \c decoded (see grammar/README.md)
  SourceRange range;
};

struct IntLit {
  uint64_t value = 0;
  SourceRange range;
};

// A glob pattern or a reference to a `let`, optionally filtered by type.
struct Selector {
  uint8_t types = 0;
  std::variant<StringLit, QualifiedName> target;
  SourceRange range;
};

struct OperationRef {
  Operation op;
  SourceRange range;
};

struct ErrnoRef {
  std::string name;
  int value = 0;
  SourceRange range;
};

// A uid or gid (number or user/group name), or a process name (string).
struct Id {
  std::variant<uint64_t, std::string> value;  // string: a name to resolve
  bool quoted = false;                        // written as "name" rather than name
  SourceRange range;
};

// lo or lo..hi
struct IdRange {
  Id lo;
  std::optional<Id> hi;
  SourceRange range;
};

enum class CondField : uint8_t { kUid, kGid, kComm };
enum class CompareOp : uint8_t { kEq, kNe, kLt, kLe, kGt, kGe, kIn, kNotIn };

struct Cond;
using CondPtr = std::unique_ptr<Cond>;

// A boolean condition on the caller.
struct Cond {
  enum class Kind : uint8_t { kAnd, kOr, kNot, kCompare, kBool };
  Kind kind = Kind::kBool;
  std::vector<CondPtr> operands;  // kAnd/kOr: two or more; kNot: one
  // kCompare
  CondField field = CondField::kUid;
  CompareOp op = CompareOp::kEq;
  std::vector<IdRange> set;  // one element for == != < <= > >=
  bool braced = false;       // `in {..}` rather than `in a..b`
  // kBool
  bool value = false;
  SourceRange range;
};

struct Condition {
  bool unless = false;
  CondPtr expr;
  SourceRange range;
};

// One line of an attr { ... } block.
struct AttrStmt {
  enum class Field : uint8_t { kMode, kUid, kGid, kAtime, kMtime, kCtime };
  enum class Op : uint8_t { kSet, kAnd, kOr, kAdd, kSub, kMap };
  struct Mapping {
    IdRange from;
    IdRange to;
    SourceRange range;
  };
  Field field = Field::kMode;
  Op op = Op::kSet;
  Id value;                       // all but kMap
  std::vector<Mapping> mappings;  // kMap
  SourceRange range;
};

// suffix ".lower" -> ".view";
struct NameMap {
  enum class Kind : uint8_t { kSuffix, kPrefix };
  Kind kind = Kind::kSuffix;
  StringLit from;
  StringLit to;
  SourceRange range;
};

enum class RuleKind : uint8_t {
#define FSPOL_RULE_KIND(name, layer, takes_ops, default_ops, clauses, caller, block) name,
#include "syntax/rule_kinds.def"
};

// The layers of a policy's meaning, in the order they are evaluated.
enum class Layer : uint8_t {
  kVisibility, kAccess, kAttributes, kNames, kPlacement, kUserspace, kAudit
};
std::string_view layer_name(Layer layer);

enum class DefaultOps : uint8_t { kAll, kModify };

// Clauses that may follow a rule's selectors.
enum Clause : uint8_t {
  kClauseErrno = 1 << 0,  // errno E
  kClauseWhen = 1 << 1,   // when C / unless C
  kClauseTo = 1 << 2,     // to ROOT "PATH"
  kClauseWith = 1 << 3,   // with HANDLER
  kClauseTag = 1 << 4,    // tag "T"
};

// A row of rule_kinds.def.
struct RuleKindInfo {
  RuleKind kind;
  Layer layer;
  bool takes_ops;
  DefaultOps default_ops;
  uint8_t clauses;
  bool caller;  // may depend on the caller
  bool block;
};
const RuleKindInfo& rule_kind_info(RuleKind kind);

struct Rule {
  RuleKind kind = RuleKind::kHide;
  std::vector<OperationRef> ops;  // empty: the action's default
  std::vector<Selector> selectors;
  std::optional<ErrnoRef> errno_value;   // deny, readonly
  std::optional<Condition> condition;
  std::vector<AttrStmt> attrs;           // attr
  std::vector<NameMap> names;            // rename
  Ident target_root;                     // redirect
  std::optional<StringLit> target_path;  // redirect
  Ident handler;                         // handle
  std::optional<StringLit> tag;          // audit
  SourceRange keyword;
  SourceRange block;  // attr, rename: from { to }
  SourceRange range;
};

struct LowerDecl {
  Ident name;
  StringLit path;
  SourceRange range;
};

struct OptionValue {
  enum class Kind : uint8_t { kInt, kDuration, kString, kWord, kBool };
  Kind kind = Kind::kInt;
  uint64_t number = 0;  // kInt; kDuration in milliseconds; kBool 0/1
  std::string text;     // kString raw (escapes intact), kWord; kDuration as written
  SourceRange range;
};

struct OptionDecl {
  Ident name;
  OptionName option;
  OptionValue value;
  SourceRange range;
};

struct LetDecl {
  Ident name;
  std::vector<Selector> selectors;
  SourceRange range;
};

struct UseDecl {
  QualifiedName module;
  SourceRange range;
};

using Item = std::variant<LowerDecl, OptionDecl, LetDecl, UseDecl, Rule>;

SourceRange item_range(const Item& item);

struct ImportDecl {
  std::variant<QualifiedName, StringLit> target;
  std::optional<Ident> alias;
  SourceRange range;
};

struct File {
  enum class Kind : uint8_t { kPolicy, kModule };
  FileId file = 0;
  std::vector<ImportDecl> imports;
  Kind kind = Kind::kPolicy;
  Ident name;
  std::vector<Item> items;
  SourceRange header;  // `policy name`
  SourceRange body;    // from { to }
  SourceRange range;
};

// "file|dir" for a FileTypeBit set, in a fixed order.
std::string file_types_text(uint8_t types);
// The bit of a file-type name ("dir"), or 0.
uint8_t file_type_from_name(std::string_view name);

// Names for printing and diagnostics.
std::string_view operation_name(Operation op);
std::string_view option_name(OptionName option);
std::string_view rule_keyword(RuleKind kind);

}  // namespace fspol::syntax
