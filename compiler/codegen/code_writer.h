#pragma once
// CodeWriter: the one way generated C is written. Lines with kernel-style
// tab indentation, and `#line` directives that point a block at the
// .fspol rule it came from and back at the generated file, so clang's and
// the verifier's messages name the right place either way.
//
//   CodeWriter w("p.bpf.c");
//   w.line("static int f(void)"); w.open("{");
//   w.from(rule.where); w.line("return -1;"); w.back();
//   w.close("}");

#include <cstdint>
#include <string>
#include <string_view>

#include "ir/ir.h"

namespace fspol::codegen {

class CodeWriter {
 public:
  explicit CodeWriter(std::string file_name) : file_(std::move(file_name)) {}

  void line(std::string_view text);
  void blank() { line(""); }
  void open(std::string_view text) {  // a line ending a block opener, then indent
    line(text);
    ++depth_;
  }
  void close(std::string_view text) {  // dedent, then the closing line
    --depth_;
    line(text);
  }
  // A `case` or `default` label: one level out, as kernel style has it.
  void label(std::string_view text) {
    --depth_;
    line(text);
    ++depth_;
  }
  void indent() { ++depth_; }
  void dedent() { --depth_; }
  // The next lines come from `where` (a rule): `#line` to it.
  void from(const ir::SourceRef& where);
  // Back to the generated file's own numbering, if `from` moved it.
  void back();
  // `declaration = { 0x.., ... };`: bytes as an array initialiser.
  void bytes(std::string_view declaration, std::string_view data);

  const std::string& text() const { return out_; }

 private:
  std::string file_;
  std::string out_;
  uint32_t lines_ = 0;  // lines written
  int depth_ = 0;
  bool moved_ = false;
};

// `s` as a C string literal.
std::string c_string(std::string_view s);

}  // namespace fspol::codegen
