#pragma once
// The compiler as a library: the one ordered list of stages every user of
// a policy runs (fsc, fsrun, the fuzzer, the tests).
//
//   fspol::Compiler compiler(fspol::CompileOptions{});
//   const fspol::Unit* unit = compiler.compile("examples/readonly-secrets.fspol");
//   compiler.render(std::cerr, {});          // errors and warnings, sorted
//   if (unit == nullptr || !unit->policy) return 1;
//   use(*unit->policy);                      // the IR (ir/ir.h)
//
// The stages, in order: load, parse, resolve (imports, lets, ids), check,
// lower to the IR (automata), verify. A file stops at its first stage that
// reports errors. A module (no `policy` block) is checked but not lowered.
// Policy mistakes are diagnostics in the compiler's sink; a file that
// cannot be read, or an unreadable --users/--groups table, is an I/O
// failure (io_errors()).

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fspol/diagnostics.h"
#include "fspol/result.h"
#include "fspol/source.h"

namespace fspol {

namespace sema {
struct Program;
class IdTables;
}
namespace ir {
struct Policy;
}
namespace syntax {
struct ParsedFile;
}

struct CompileOptions {
  std::vector<std::string> import_dirs;  // -I, searched in order before the stdlib
  // The stdlib's directory; "" means $FSPOL_STDLIB_DIR, else the built-in one.
  std::string stdlib_dir;
  std::vector<std::string> user_files;   // --users: name:uid tables
  std::vector<std::string> group_files;  // --groups
  WarningOptions warnings;
  uint32_t error_limit = 50;
  // Most DFA states one policy may need; more is a located error.
  uint32_t max_dfa_states = 1000000;
};

// One compiled file. `program` is always set; `policy` is set for a
// policy that lowered and verified without errors (null for a module).
struct Unit {
  FileId file = 0;
  const syntax::ParsedFile* parsed = nullptr;
  std::unique_ptr<sema::Program> program;
  std::unique_ptr<ir::Policy> policy;
  ~Unit();
};

class Compiler {
 public:
  explicit Compiler(CompileOptions options);
  ~Compiler();
  Compiler(const Compiler&) = delete;
  Compiler& operator=(const Compiler&) = delete;

  // Runs every stage on the file `path` ("-": standard input). Returns
  // nullptr when the file cannot be read or has errors before the
  // semantic model exists (parse, resolve, check); the reasons are in the
  // diagnostics or io_errors(). A policy whose lowering or verification
  // reported errors comes back with a null `policy`.
  const Unit* compile(const std::string& path);
  // The same for text that is not in a file (tests, fuzzing).
  const Unit* compile_text(const std::string& name, std::string text);
  // Loads and parses only (the formatter); `id` is the file's. nullptr
  // on read or syntax errors.
  const syntax::ParsedFile* parse(const std::string& path, FileId& id);

  SourceManager& sources();
  Diagnostics& diagnostics();
  // User and group names: the built-in tables and --users/--groups.
  const sema::IdTables& ids() const;
  // Files that could not be read (each message names the path and reason).
  const std::vector<std::string>& io_errors() const;
  bool io_failed() const { return !io_errors().empty(); }
  // Prints every diagnostic sorted, then the summary line.
  void render(std::ostream& out, const RenderOptions& options);

 private:
  struct State;
  const syntax::ParsedFile* parse_loaded(FileId id);
  const Unit* run(const syntax::ParsedFile& parsed, FileId id);
  std::unique_ptr<State> state_;
};

}  // namespace fspol
