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

void CodeWriter::bytes(std::string_view declaration, std::string_view data) {
  open(std::string(declaration) + " = {");
  std::string row;
  char hex[8];
  for (size_t i = 0; i < data.size(); ++i) {
    std::snprintf(hex, sizeof hex, "0x%02x,", static_cast<unsigned char>(data[i]));
    row += hex;
    if (row.size() >= 72 || i + 1 == data.size()) {
      line(row);
      row.clear();
    }
  }
  close("};");
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
