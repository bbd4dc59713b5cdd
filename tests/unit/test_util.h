#pragma once
// Helpers shared by the unit tests: parse a string, render diagnostics.

#include <algorithm>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "fspol/compiler.h"
#include "fspol/diagnostics.h"
#include "syntax/ast_dump.h"
#include "syntax/parser.h"

namespace fspol::testing {

struct Parsed {
  SourceManager sources;
  Diagnostics diags;
  syntax::ParsedFile file;
  FileId id = 0;

  // Rendered diagnostics without the summary line.
  std::string errors() {
    std::ostringstream out;
    diags.render(out, sources, RenderOptions{});
    std::string text = out.str();
    size_t summary = text.rfind(" generated.\n");
    if (summary != std::string::npos) text.erase(text.rfind('\n', summary - 1) + 1);
    return text;
  }
  std::string dump() const { return syntax::ast_dump(file.ast); }
};

inline std::unique_ptr<Parsed> parse(const std::string& text, const std::string& path = "t.fspol") {
  auto p = std::make_unique<Parsed>();
  p->id = p->sources.add(path, text);
  p->file = syntax::run_parser(p->id, p->sources.file(p->id), p->diags);
  return p;
}

// Wraps rule text in a policy.
inline std::string policy(const std::string& body) { return "policy p {\n" + body + "\n}\n"; }

#ifdef FSPOL_SOURCE_DIR
// Every policy file of the tree's examples, valid corpus and eval tables,
// sorted.
inline std::vector<std::filesystem::path> policy_files_in_tree() {
  std::vector<std::filesystem::path> files;
  for (const char* dir : {"examples", "grammar/corpus/valid", "tests/eval"}) {
    for (const auto& entry :
         std::filesystem::directory_iterator(std::filesystem::path(FSPOL_SOURCE_DIR) / dir)) {
      if (entry.path().extension() == ".fspol") files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

// Compile options that find the tree's stdlib.
inline CompileOptions tree_compile_options() {
  CompileOptions options;
  options.stdlib_dir = std::string(FSPOL_SOURCE_DIR) + "/stdlib/policies";
  return options;
}
#endif

}  // namespace fspol::testing
