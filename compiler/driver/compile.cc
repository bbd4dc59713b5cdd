// The compiler's one list of stages (fspol/compiler.h).
#include <cstdlib>
#include <filesystem>
#include <ostream>

#include "fspol/compiler.h"
#include "ir/ir.h"
#include "ir/lower.h"
#include "sema/check.h"
#include "sema/resolve.h"
#include "syntax/parser.h"
#include "verify/verify_policy.h"

// Set by CMake for the compiler library.
#ifndef FSPOL_STDLIB_DIR
#define FSPOL_STDLIB_DIR "stdlib/policies"
#endif
#ifndef FSPOL_INSTALLED_STDLIB
#define FSPOL_INSTALLED_STDLIB "../share/fspol/policies"
#endif

namespace fspol {
namespace {

// The stdlib: --stdlib, else $FSPOL_STDLIB_DIR, else the one installed
// with the running program (PREFIX/bin/fsc -> PREFIX/share/fspol/...),
// else the source tree's.
std::string stdlib_dir(const std::string& given) {
  if (!given.empty()) return given;
  if (const char* env = std::getenv("FSPOL_STDLIB_DIR")) return env;
  std::error_code ec;
  std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    std::filesystem::path installed = exe.parent_path() / FSPOL_INSTALLED_STDLIB;
    if (std::filesystem::is_directory(installed, ec)) return installed.lexically_normal().string();
  }
  return FSPOL_STDLIB_DIR;
}

}  // namespace

Unit::~Unit() = default;

struct Compiler::State {
  explicit State(CompileOptions o)
      : options(std::move(o)), diags(options.error_limit), ctx{sources, diags, {}, {}} {
    diags.set_warning_options(options.warnings);
    ctx.import_dirs = options.import_dirs;
    ctx.import_dirs.push_back(stdlib_dir(options.stdlib_dir));
    ctx.last_dir_is_stdlib = true;
    for (const std::string& f : options.user_files) {
      if (auto loaded = ctx.ids.load_users(f); !loaded) io_errors.push_back(loaded.error().message);
    }
    for (const std::string& f : options.group_files) {
      if (auto loaded = ctx.ids.load_groups(f); !loaded) io_errors.push_back(loaded.error().message);
    }
  }

  CompileOptions options;
  SourceManager sources;
  Diagnostics diags;
  sema::SemaContext ctx;
  std::vector<std::string> io_errors;
  // Parsed roots stay alive as long as programs point into them.
  std::vector<std::unique_ptr<syntax::ParsedFile>> roots;
  std::vector<std::unique_ptr<Unit>> units;
};

Compiler::Compiler(CompileOptions options) : state_(std::make_unique<State>(std::move(options))) {}
Compiler::~Compiler() = default;

SourceManager& Compiler::sources() { return state_->sources; }
Diagnostics& Compiler::diagnostics() { return state_->diags; }
const std::vector<std::string>& Compiler::io_errors() const { return state_->io_errors; }
const sema::IdTables& Compiler::ids() const { return state_->ctx.ids; }

void Compiler::render(std::ostream& out, const RenderOptions& options) {
  state_->diags.render(out, state_->sources, options);
}

const syntax::ParsedFile* Compiler::parse(const std::string& path, FileId& id) {
  auto loaded = state_->sources.load(path);
  if (!loaded) {
    state_->io_errors.push_back(loaded.error().message);
    return nullptr;
  }
  id = *loaded;
  return parse_loaded(id);
}

const syntax::ParsedFile* Compiler::parse_loaded(FileId id) {
  uint32_t errors_before = state_->diags.error_count();
  auto parsed = std::make_unique<syntax::ParsedFile>(
      syntax::run_parser(id, state_->sources.file(id), state_->diags));
  if (state_->diags.error_count() != errors_before) return nullptr;
  state_->roots.push_back(std::move(parsed));
  return state_->roots.back().get();
}

const Unit* Compiler::compile(const std::string& path) {
  FileId id = 0;
  const syntax::ParsedFile* parsed = parse(path, id);
  return parsed == nullptr ? nullptr : run(*parsed, id);
}

const Unit* Compiler::compile_text(const std::string& name, std::string text) {
  FileId id = state_->sources.add(name, std::move(text));
  const syntax::ParsedFile* parsed = parse_loaded(id);
  return parsed == nullptr ? nullptr : run(*parsed, id);
}

// The stages after parsing, in their one order.
const Unit* Compiler::run(const syntax::ParsedFile& parsed, FileId id) {
  State& s = *state_;
  auto program = sema::run_resolve(parsed, s.ctx);
  if (!program) return nullptr;
  if (!sema::run_check(*program, s.ctx)) return nullptr;
  auto unit = std::make_unique<Unit>();
  unit->file = id;
  unit->parsed = &parsed;
  unit->program = std::make_unique<sema::Program>(std::move(*program));
  if (unit->program->is_policy) {
    auto policy = ir::run_lower(*unit->program, s.sources, s.diags, s.options.max_dfa_states);
    if (policy && verify::run_verify(*unit->program, *policy, s.ctx)) {
      unit->policy = std::make_unique<ir::Policy>(std::move(*policy));
    }
  }
  s.units.push_back(std::move(unit));
  return s.units.back().get();
}

}  // namespace fspol
