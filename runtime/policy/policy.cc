// Loading a policy: the compiler front end parses the .fspol file (and
// renders its diagnostics); the runtime keeps the name, the rule count and
// the mount options. Rules are applied in a later stage (policy_hook.cc).
#include <ostream>
#include <variant>

#include "fspol/diagnostics.h"
#include "fspol/runtime/runtime.h"
#include "fspol/source.h"
#include "syntax/parser.h"

namespace fspol::runtime {

Result<Policy> load_policy(const std::string& path, std::ostream& diagnostics) {
  SourceManager sources;
  auto loaded = sources.load(path);
  if (!loaded) return loaded.error();
  Diagnostics diags;
  syntax::ParsedFile parsed = syntax::run_parser(*loaded, sources.file(*loaded), diags);
  if (diags.has_errors()) {
    diags.render(diagnostics, sources, RenderOptions{});
    return Error{EINVAL, path + ": " + std::to_string(diags.error_count()) +
                             " error(s) in the policy"};
  }
  if (parsed.ast.kind != syntax::File::Kind::kPolicy) {
    return Error{EINVAL, path + ": a module, not a policy: it cannot be mounted"};
  }
  Policy policy;
  policy.path = path;
  policy.name = parsed.ast.name.name;
  for (const syntax::Item& item : parsed.ast.items) {
    if (std::holds_alternative<syntax::Rule>(item)) policy.rule_count++;
    if (const auto* opt = std::get_if<syntax::OptionDecl>(&item)) {
      const syntax::OptionValue& v = opt->value;
      std::string value;
      switch (v.kind) {
        case syntax::OptionValue::Kind::kInt:
          value = std::to_string(v.number);
          break;
        case syntax::OptionValue::Kind::kDuration:
          value = std::to_string(static_cast<double>(v.number) / 1000.0);
          break;
        case syntax::OptionValue::Kind::kBool:
          value = v.number ? "true" : "false";
          break;
        case syntax::OptionValue::Kind::kString:
          value = syntax::decode_string(v.text);
          break;
        case syntax::OptionValue::Kind::kWord:
          value = v.text;
          break;
      }
      policy.options.emplace_back(std::string(syntax::option_name(opt->option)), value);
    }
  }
  return policy;
}

}  // namespace fspol::runtime
