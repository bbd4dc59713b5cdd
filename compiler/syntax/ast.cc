#include "syntax/ast.h"

#include <array>

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

std::string_view rule_keyword(RuleKind kind) {
  switch (kind) {
    case RuleKind::kHide: return "hide";
    case RuleKind::kDeny: return "deny";
    case RuleKind::kAllow: return "allow";
    case RuleKind::kReadonly: return "readonly";
    case RuleKind::kAttr: return "attr";
    case RuleKind::kRename: return "rename";
    case RuleKind::kCasefold: return "casefold";
    case RuleKind::kRedirect: return "redirect";
    case RuleKind::kHandle: return "handle";
    case RuleKind::kAudit: return "audit";
  }
  return "rule";
}

}  // namespace fspol::syntax
