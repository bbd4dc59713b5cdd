#include "codegen/code_writer.h"

#include <cstdio>

namespace fspol::codegen {

void CodeWriter::line(std::string_view text) {
  if (!text.empty() && text[0] != '#') out_.append(static_cast<size_t>(depth_), '\t');
  out_ += text;
  out_ += '\n';
  ++lines_;
}

void CodeWriter::from(const ir::SourceRef& where) {
  if (where.line == 0) return;
  line("#line " + std::to_string(where.line) + " " + c_string(where.file));
  moved_ = true;
}

void CodeWriter::back() {
  if (!moved_) return;
  moved_ = false;
  // The directive names the number of the line after it.
  line("#line " + std::to_string(lines_ + 2) + " " + c_string(file_));
}

std::string c_string(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\%03o", static_cast<unsigned char>(c));
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

}  // namespace fspol::codegen
