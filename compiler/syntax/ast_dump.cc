#include "syntax/ast_dump.h"

#include "syntax/printer.h"

namespace fspol::syntax {

namespace {

std::string dump_id(const Id& id) {
  if (const auto* number = std::get_if<uint64_t>(&id.value)) return std::to_string(*number);
  const auto& name = std::get<std::string>(id.value);
  return id.quoted ? quote(name) : name;
}

std::string dump_range(const IdRange& r) {
  return r.hi ? "(.. " + dump_id(r.lo) + " " + dump_id(*r.hi) + ")" : dump_id(r.lo);
}

std::string dump_selector(const Selector& s) {
  std::string out = "(sel";
  if (s.types) out += " types=" + std::to_string(s.types);
  if (const auto* pattern = std::get_if<StringLit>(&s.target)) {
    out += " " + quote(pattern->value);
  } else {
    out += " " + std::get<QualifiedName>(s.target).str();
  }
  return out + ")";
}

std::string dump_cond(const Cond& c) {
  static constexpr const char* kOps[] = {"==", "!=", "<", "<=", ">", ">=", "in", "not-in"};
  switch (c.kind) {
    case Cond::Kind::kBool:
      return c.value ? "true" : "false";
    case Cond::Kind::kCompare: {
      std::string out = std::string("(") + kOps[static_cast<size_t>(c.op)] + " " +
                        (c.field == CondField::kUid   ? "uid"
                         : c.field == CondField::kGid ? "gid"
                                                      : "comm");
      if (c.braced) out += " set";
      for (const IdRange& r : c.set) out += " " + dump_range(r);
      return out + ")";
    }
    case Cond::Kind::kNot:
      return "(not " + dump_cond(*c.operands.front()) + ")";
    case Cond::Kind::kAnd:
    case Cond::Kind::kOr: {
      std::string out = c.kind == Cond::Kind::kAnd ? "(and" : "(or";
      for (const CondPtr& operand : c.operands) out += " " + dump_cond(*operand);
      return out + ")";
    }
  }
  return "?";
}

std::string dump_rule(const Rule& r) {
  std::string out = "(rule " + std::string(rule_keyword(r.kind));
  if (!r.ops.empty()) {
    out += " (ops";
    for (const OperationRef& op : r.ops) out += " " + std::string(operation_name(op.op));
    out += ")";
  }
  for (const Selector& s : r.selectors) out += " " + dump_selector(s);
  if (r.kind == RuleKind::kRedirect) {
    out += " (to " + r.target_root.name;
    if (r.target_path) out += " " + quote(r.target_path->value);
    out += ")";
  }
  if (r.kind == RuleKind::kHandle) out += " (with " + r.handler.name + ")";
  if (r.errno_value) out += " (errno " + r.errno_value->name + ")";
  if (r.tag) out += " (tag " + quote(r.tag->value) + ")";
  if (r.condition) {
    out += std::string(r.condition->unless ? " (unless " : " (when ") +
           dump_cond(*r.condition->expr) + ")";
  }
  for (const AttrStmt& a : r.attrs) {
    static constexpr const char* kFields[] = {"mode", "uid", "gid", "atime", "mtime", "ctime"};
    static constexpr const char* kOps[] = {"=", "&=", "|=", "+=", "-=", "map"};
    out += std::string(" (") + kOps[static_cast<size_t>(a.op)] + " " +
           kFields[static_cast<size_t>(a.field)];
    if (a.op == AttrStmt::Op::kMap) {
      for (const auto& m : a.mappings) {
        out += " (-> " + dump_range(m.from) + " " + dump_range(m.to) + ")";
      }
    } else {
      out += " " + dump_id(a.value);
    }
    out += ")";
  }
  for (const NameMap& n : r.names) {
    out += std::string(" (") + (n.kind == NameMap::Kind::kSuffix ? "suffix " : "prefix ") +
           quote(n.from.value) + " " + quote(n.to.value) + ")";
  }
  return out + ")";
}

std::string dump_item(const Item& item) {
  if (const auto* lower = std::get_if<LowerDecl>(&item)) {
    return "(lower " + lower->name.name + " " + quote(lower->path.value) + ")";
  }
  if (const auto* option = std::get_if<OptionDecl>(&item)) {
    const OptionValue& v = option->value;
    std::string value = v.kind == OptionValue::Kind::kString || v.kind == OptionValue::Kind::kWord
                            ? v.text
                            : std::to_string(v.number);
    return "(option " + std::string(option_name(option->option)) + " " + value + ")";
  }
  if (const auto* let = std::get_if<LetDecl>(&item)) {
    std::string out = "(let " + let->name.name;
    for (const Selector& s : let->selectors) out += " " + dump_selector(s);
    return out + ")";
  }
  if (const auto* use = std::get_if<UseDecl>(&item)) return "(use " + use->module.str() + ")";
  return dump_rule(std::get<Rule>(item));
}

}  // namespace

std::string ast_dump(const File& file) {
  std::string out;
  for (const ImportDecl& import : file.imports) {
    out += "(import ";
    if (const auto* name = std::get_if<QualifiedName>(&import.target)) {
      out += name->str();
    } else {
      out += quote(std::get<StringLit>(import.target).value);
    }
    if (import.alias) out += " as " + import.alias->name;
    out += ")\n";
  }
  out += std::string(file.kind == File::Kind::kPolicy ? "(policy " : "(module ") +
         file.name.name + "\n";
  for (const Item& item : file.items) out += "  " + dump_item(item) + "\n";
  return out + ")\n";
}

}  // namespace fspol::syntax
