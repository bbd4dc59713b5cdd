#pragma once
// Helpers shared by the unit tests: parse a string, render diagnostics.

#include <sstream>
#include <string>

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

}  // namespace fspol::testing
