#include "syntax/ast.h"

#include <array>

#include "syntax/token.h"

namespace fspol::syntax {

namespace {

constexpr std::array kOperationNames = {
#define FSPOL_OPERATION(name, spelling, covers) std::string_view(spelling),
#include "syntax/operations.def"
};

constexpr std::array kOptionNames = {
#define FSPOL_OPTION(name, spelling, kind, words, meaning) std::string_view(spelling),
#include "syntax/options.def"
};

constexpr std::pair<uint8_t, std::string_view> kFileTypes[] = {
    {kTypeFile, "file"},     {kTypeDir, "dir"},         {kTypeSymlink, "symlink"},
    {kTypeFifo, "fifo"},     {kTypeSocket, "socket"},   {kTypeChardev, "chardev"},
    {kTypeBlockdev, "blockdev"},
};

}  // namespace

std::string file_types_text(uint8_t types) {
  std::string out;
  for (auto [bit, name] : kFileTypes) {
    if (!(types & bit)) continue;
    if (!out.empty()) out += '|';
    out += name;
  }
  return out;
}

uint8_t file_type_from_name(std::string_view name) {
  for (auto [bit, type] : kFileTypes) {
    if (type == name) return bit;
  }
  return 0;
}

std::string QualifiedName::str() const {
  std::string out;
  for (const Ident& part : parts) {
    if (!out.empty()) out += '.';
    out += part.name;
  }
  return out;
}

SourceRange item_range(const Item& item) {
  return std::visit([](const auto& node) { return node.range; }, item);
}

std::string_view operation_name(Operation op) {
  return kOperationNames[static_cast<size_t>(op)];
}

std::string_view option_name(OptionName option) {
  return kOptionNames[static_cast<size_t>(option)];
}

namespace {

constexpr RuleKindInfo kRuleKinds[] = {
#define FSPOL_RULE_KIND(name, layer, takes_ops, default_ops, clauses, caller, block) \
  {RuleKind::name, Layer::layer, takes_ops, DefaultOps::default_ops, clauses, caller, block},
#include "syntax/rule_kinds.def"
};

}  // namespace

const std::vector<OptionInfo>& option_table() {
  static const std::vector<OptionInfo> kTable = {
#define FSPOL_OPTION(name, spelling, kind, words, meaning) \
  OptionInfo{spelling, OptionName::name, OptionKind::kind, words},
#include "syntax/options.def"
  };
  return kTable;
}

const RuleKindInfo& rule_kind_info(RuleKind kind) { return kRuleKinds[static_cast<size_t>(kind)]; }

std::string_view rule_keyword(RuleKind kind) {
  switch (kind) {
#define FSPOL_RULE_KIND(name, layer, takes_ops, default_ops, clauses, caller, block) \
  case RuleKind::name:                                                              \
    return token_spelling(TokenKind::name);
#include "syntax/rule_kinds.def"
  }
  return "rule";
}

std::string_view layer_name(Layer layer) {
  static constexpr std::string_view kNames[] = {"visibility", "access",    "attr",  "names",
                                                "placement",  "userspace", "audit"};
  return kNames[static_cast<size_t>(layer)];
}

}  // namespace fspol::syntax
