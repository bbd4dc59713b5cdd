// Loading a policy: the whole compiler front end (fspol/compiler.h) checks
// it exactly as `fsc check` does, then every rule is held against what the
// daemon applies today. A rule the daemon would ignore refuses the mount:
// a view that looks protected and is not is worse than no view.
#include <array>
#include <ostream>

#include "fspol/compiler.h"
#include "fspol/runtime/runtime.h"
#include "ir/ir.h"
#include "policy/engine.h"
#include "policy/settings.h"
#include "sema/program.h"
#include "syntax/parser.h"

namespace fspol::runtime {
namespace {

// Rule kinds the daemon applies: visibility and access. The rule engine
// adds the other layers here as it applies them.
constexpr std::array kEnforced = {syntax::RuleKind::kHide, syntax::RuleKind::kDeny,
                                   syntax::RuleKind::kAllow, syntax::RuleKind::kReadonly,
                                   syntax::RuleKind::kAttr, syntax::RuleKind::kAudit};

bool enforced(syntax::RuleKind kind) {
  for (syntax::RuleKind k : kEnforced) {
    if (k == kind) return true;
  }
  return false;
}

}  // namespace

Result<Policy> load_policy(const std::string& path, const CompileOptions& compile_options,
                           std::ostream& diagnostics, const RenderOptions& render) {
  Compiler compiler(compile_options);
  const Unit* unit = compiler.compile(path);
  if (!compiler.io_errors().empty()) {
    compiler.render(diagnostics, render);
    std::string message;
    for (const std::string& m : compiler.io_errors()) message += (message.empty() ? "" : "; ") + m;
    return Error{EIO, message};
  }
  if (unit != nullptr && !unit->program->is_policy) {
    compiler.diagnostics().error(unit->parsed->ast.header,
                                 "'" + unit->program->name +
                                     "' is a module, not a policy; mount a policy that imports "
                                     "and uses it");
  }
  if (unit != nullptr && unit->policy) {
    for (const ir::Rule& rule : unit->policy->rules) {
      if (enforced(rule.kind)) continue;
      Diagnostic& d = compiler.diagnostics().error(
          rule.range, "'" + std::string(syntax::rule_keyword(rule.kind)) +
                          "' rules are not enforced by fsrun yet: refusing to mount a view "
                          "that would ignore this rule");
      for (const SourceRange& use : rule.via_ranges) d.note(use, "rule used here");
    }
    // fcntl(2) locks stay in the kernel in daemon mode (FUSE_POSIX_LOCKS
    // is not negotiated): a lock can only be refused by refusing the open.
    constexpr ir::OpSet kOpens = ir::bit(ir::Op::kRead) | ir::bit(ir::Op::kWrite);
    for (const ir::Rule& rule : unit->policy->rules) {
      if (rule.kind != syntax::RuleKind::kDeny || !(rule.ops & ir::bit(ir::Op::kLock))) continue;
      if ((rule.ops & kOpens) == kOpens) continue;
      Diagnostic& d = compiler.diagnostics().error(
          rule.range, "fsrun cannot deny 'lock' alone: fcntl locks are kept by the kernel, so "
                      "only a rule that also denies read and write (the opens) keeps a caller "
                      "from locking");
      for (const SourceRange& use : rule.via_ranges) d.note(use, "rule used here");
    }
  }
  Diagnostics& diags = compiler.diagnostics();
  uint32_t errors = diags.error_count();
  compiler.render(diagnostics, render);
  if (errors != 0 || unit == nullptr || !unit->policy) {
    return Error{EINVAL, path + ": " + std::to_string(errors) +
                             " error(s): the view is not mounted"};
  }
  auto engine = Engine::create(std::make_shared<ir::Policy>(*unit->policy));
  if (!engine) return Error{engine.error().code, path + ": " + engine.error().message};
  Policy policy;
  policy.engine = std::move(*engine);
  policy.path = path;
  policy.name = unit->policy->name;
  policy.rule_count = unit->program->rules.size();
  for (const ir::Option& option : unit->program->options) {
    apply_setting(policy.settings, option.name, option.value);
  }
  return policy;
}

}  // namespace fspol::runtime
