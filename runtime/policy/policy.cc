// Loading a policy: the whole compiler front end (fspol/compiler.h) checks
// it exactly as `fsc check` does, then every rule is held against what the
// daemon can apply. The daemon applies every rule kind; a rule it cannot
// apply as written refuses the mount: a view that looks protected and is
// not is worse than no view.
#include <ostream>

#include "fspol/compiler.h"
#include "fspol/runtime/runtime.h"
#include "ir/codec.h"
#include "ir/ir.h"
#include "policy/engine.h"
#include "policy/settings.h"
#include "sema/program.h"
#include "syntax/parser.h"

namespace fspol::runtime {
namespace {

// A rule fsrun cannot apply as written, and why.
struct Refusal {
  uint32_t rule;
  std::string message;
};

// Resolves each `handle` rule's handler in `registry` (by rule id, into
// `resolved`) and holds every rule against what the daemon can apply.
std::vector<Refusal> refusals(const ir::Policy& policy, const HandlerRegistry& registry,
                              std::vector<std::shared_ptr<const Handler>>& resolved) {
  std::vector<Refusal> out;
  resolved.assign(policy.rules.size(), nullptr);
  // fcntl(2) locks stay in the kernel in daemon mode (FUSE_POSIX_LOCKS
  // is not negotiated): a lock can only be refused by refusing the open.
  constexpr ir::OpSet kOpens = ir::bit(ir::Op::kRead) | ir::bit(ir::Op::kWrite);
  for (const ir::Rule& rule : policy.rules) {
    if (rule.kind == syntax::RuleKind::kDeny && (rule.ops & ir::bit(ir::Op::kLock)) &&
        (rule.ops & kOpens) != kOpens) {
      out.push_back({rule.id,
                     "fsrun cannot deny 'lock' alone: fcntl locks are kept by the kernel, so "
                     "only a rule that also denies read and write (the opens) keeps a caller "
                     "from locking"});
    }
    if (rule.kind != syntax::RuleKind::kHandle) continue;
    if (ir::OpSet other = rule.ops & ~ir::bit(ir::Op::kRead)) {
      std::string names;
      for (size_t op = 0; op < ir::kOpCount; ++op) {
        if (!(other & ir::bit(static_cast<ir::Op>(op)))) continue;
        names += (names.empty() ? "'" : ", '") + std::string(ir::op_name(static_cast<ir::Op>(op))) + "'";
      }
      out.push_back({rule.id, "fsrun's handlers serve 'read' (what a file shows); " + names +
                                  " cannot be handed to '" + rule.handler + "'"});
    }
    resolved[rule.id] = registry.find(rule.handler);
    if (resolved[rule.id] == nullptr) {
      out.push_back({rule.id, "no handler '" + rule.handler +
                                  "' is registered with fsrun (it ships 'redact_secrets'; a "
                                  "program linking libfspol_runtime registers its own)"});
    }
  }
  return out;
}

// The runtime's form of a policy that passed every check.
Result<Policy> make_policy(std::shared_ptr<const ir::Policy> compiled, const std::string& path,
                           std::vector<std::shared_ptr<const Handler>> resolved) {
  auto engine = Engine::create(compiled);
  if (!engine) return Error{engine.error().code, path + ": " + engine.error().message};
  Policy policy;
  policy.engine = std::move(*engine);
  policy.handlers = std::move(resolved);
  policy.path = path;
  policy.name = compiled->name;
  policy.rule_count = compiled->rules.size();
  for (const ir::Option& option : compiled->options) {
    apply_setting(policy.settings, option.name, option.value);
  }
  return policy;
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
  Diagnostics& diags = compiler.diagnostics();
  if (unit != nullptr && !unit->program->is_policy) {
    diags.error(unit->parsed->ast.header, "'" + unit->program->name +
                                              "' is a module, not a policy; mount a policy that "
                                              "imports and uses it");
  }
  std::vector<std::shared_ptr<const Handler>> resolved;
  if (unit != nullptr && unit->policy) {
    for (const Refusal& r : refusals(*unit->policy, handlers, resolved)) {
      const ir::Rule& rule = unit->policy->rules[r.rule];
      Diagnostic& d = diags.error(rule.range, r.message);
      for (const SourceRange& use : rule.via_ranges) d.note(use, "rule used here");
    }
  }
  uint32_t errors = diags.error_count();
  compiler.render(diagnostics, render);
  if (errors != 0 || unit == nullptr || !unit->policy) {
    return Error{EINVAL, path + ": " + std::to_string(errors) +
                             " error(s): the view is not mounted"};
  }
  return make_policy(std::make_shared<ir::Policy>(*unit->policy), path, std::move(resolved));
}

Result<Policy> load_compiled_policy(std::string_view compiled, const std::string& name,
                                    const HandlerRegistry& handlers) {
  auto decoded = ir::decode(compiled);
  if (!decoded) return Error{decoded.error().code, name + ": " + decoded.error().message};
  auto policy = std::make_shared<const ir::Policy>(std::move(*decoded));
  std::vector<std::shared_ptr<const Handler>> resolved;
  std::string message;
  size_t errors = 0;
  for (const Refusal& r : refusals(*policy, handlers, resolved)) {
    const ir::Rule& rule = policy->rules[r.rule];
    message += rule.where.file + ":" + std::to_string(rule.where.line) + ":" +
               std::to_string(rule.where.col) + ": error: " + r.message + "\n";
    for (const ir::SourceRef& use : rule.via) {
      message += use.file + ":" + std::to_string(use.line) + ":" + std::to_string(use.col) +
                 ": note: rule used here\n";
    }
    ++errors;
  }
  if (errors != 0) {
    return Error{EINVAL, message + name + ": " + std::to_string(errors) +
                             " error(s): the view is not mounted"};
  }
  return make_policy(std::move(policy), name, std::move(resolved));
}

}  // namespace fspol::runtime
