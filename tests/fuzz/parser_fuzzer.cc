// libFuzzer target for the compiler. Beyond "no crash, no leak, no hang",
// it checks the formatter's contract on every input that parses (the
// formatted text parses, means the same and is a fixed point of
// formatting), and runs every later stage on it through the compiler API
// (fspol/compiler.h: resolve, check, lower with a small automaton limit so
// exponential selectors end quickly, verify), then the reference
// evaluator on a few paths, and the BPF backend's plan and C for both
// target profiles (the C is built by `fsc verify` in bpf.verify: the
// fuzzer stays free of LLVM).

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>

#include "fspol/compiler.h"
#include "fspol/diagnostics.h"
#include "ir/ir.h"
#include "codegen/bpf_c.h"
#include "ir/ir_eval.h"
#include "plan/plan.h"
#include "syntax/ast_dump.h"
#include "syntax/parser.h"
#include "syntax/printer.h"

namespace {

struct Parsed {
  fspol::SourceManager sources;
  fspol::Diagnostics diags;
  fspol::syntax::ParsedFile file;
  fspol::FileId id = 0;
};

void parse(Parsed& p, std::string text) {
  p.id = p.sources.add("fuzz.fspol", std::move(text));
  p.file = fspol::syntax::run_parser(p.id, p.sources.file(p.id), p.diags);
}

[[noreturn]] void fail(const char* what, const std::string& a, const std::string& b) {
  std::fprintf(stderr, "formatter contract broken: %s\n--- first\n%s\n--- second\n%s\n", what,
               a.c_str(), b.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Parsed original;
  parse(original, std::string(reinterpret_cast<const char*>(data), size));
  std::ostringstream rendered;
  original.diags.render(rendered, original.sources, fspol::RenderOptions{true});
  if (original.diags.has_errors()) return 0;

  std::string once =
      fspol::syntax::format_file(original.file, original.sources.file(original.id));
  Parsed reparsed;
  parse(reparsed, once);
  if (reparsed.diags.has_errors()) {
    std::ostringstream errors;
    reparsed.diags.render(errors, reparsed.sources, fspol::RenderOptions{});
    fail("formatted text does not parse", once, errors.str());
  }
  std::string dump_a = fspol::syntax::ast_dump(original.file.ast);
  std::string dump_b = fspol::syntax::ast_dump(reparsed.file.ast);
  if (dump_a != dump_b) fail("formatting changed the AST", dump_a, dump_b);
  std::string twice =
      fspol::syntax::format_file(reparsed.file, reparsed.sources.file(reparsed.id));
  if (twice != once) fail("formatting is not idempotent", once, twice);

  // The meaning, through the compiler's one list of stages. No module
  // directory exists, so imports fail cleanly; a small automaton limit
  // ends exponential selectors quickly.
  fspol::CompileOptions options;
  options.stdlib_dir = "/nonexistent/fspol-fuzz";
  options.max_dfa_states = 20000;
  fspol::Compiler compiler(options);
  const fspol::Unit* unit =
      compiler.compile_text("fuzz.fspol", std::string(original.sources.file(original.id).text()));
  if (unit == nullptr || !unit->policy) return 0;
  const fspol::ir::Policy* policy = unit->policy.get();
  for (const char* path : {"/", "/a", "/a/b.log", "/.x/y", "/Data/A"}) {
    fspol::ir::Request request;
    request.path = path;
    request.op = fspol::ir::Op::kWrite;
    request.new_path = "/z";
    auto verdict = fspol::ir::evaluate(*policy, request);
    if (!verdict) fail("the evaluator refused a well-formed path", path, "");
  }
  for (auto profile : {fspol::plan::Profile::kFspol61, fspol::plan::Profile::kRfcV3}) {
    fspol::plan::Plan plan = fspol::plan::make_plan(*policy, profile);
    auto files = fspol::codegen::emit_bpf_c(*policy, plan, policy->name);
    if (files.bpf_c.empty() || files.harness_c.empty()) fail("no BPF C", policy->name, "");
  }
  return 0;
}
