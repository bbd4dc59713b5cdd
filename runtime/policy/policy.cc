// Loading a policy: the whole compiler front end (fspol/compiler.h) checks
// it exactly as `fsc check` does, then every rule is held against what the
// daemon can apply. The daemon applies every rule kind; a rule it cannot
// apply as written refuses the mount: a view that looks protected and is
// not is worse than no view.
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

// Resolves each `handle` rule's handler in `registry` (by rule id, into
// `out`); a missing one, or an operation a handler cannot serve, is a
// located error.
void resolve_handlers(const ir::Policy& policy, const HandlerRegistry& registry,
                      Diagnostics& diags, std::vector<std::shared_ptr<const Handler>>& out) {
  out.assign(policy.rules.size(), nullptr);
  for (const ir::Rule& rule : policy.rules) {
    if (rule.kind != syntax::RuleKind::kHandle) continue;
    auto note_uses = [&](Diagnostic& d) {
      for (const SourceRange& use : rule.via_ranges) d.note(use, "rule used here");
    };
    if (ir::OpSet other = rule.ops & ~ir::bit(ir::Op::kRead)) {
      std::string names;
      for (size_t op = 0; op < ir::kOpCount; ++op) {
        if (!(other & ir::bit(static_cast<ir::Op>(op)))) continue;
        names += (names.empty() ? "'" : ", '") + std::string(ir::op_name(static_cast<ir::Op>(op))) + "'";
      }
      note_uses(diags.error(rule.range, "fsrun's handlers serve 'read' (what a file shows); " +
                                            names + " cannot be handed to '" + rule.handler + "'"));
    }
    out[rule.id] = registry.find(rule.handler);
    if (out[rule.id] == nullptr) {
      note_uses(diags.error(rule.range, "no handler '" + rule.handler +
                                            "' is registered with fsrun (it ships "
                                            "'redact_secrets'; a program linking "
                                            "libfspol_runtime registers its own)"));
    }
  }
}

}  // namespace

Result<Policy> load_policy(const std::string& path, const CompileOptions& compile_options,
                           std::ostream& diagnostics, const RenderOptions& render,
                           const HandlerRegistry& handlers) {
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
  std::vector<std::shared_ptr<const Handler>> resolved;
  if (unit != nullptr && unit->policy) {
    resolve_handlers(*unit->policy, handlers, compiler.diagnostics(), resolved);
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
  policy.handlers = std::move(resolved);
  policy.path = path;
  policy.name = unit->policy->name;
  policy.rule_count = unit->program->rules.size();
  for (const ir::Option& option : unit->program->options) {
    apply_setting(policy.settings, option.name, option.value);
  }
  return policy;
}

}  // namespace fspol::runtime
