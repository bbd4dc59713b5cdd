#pragma once
// A JSON string literal for any bytes: quotes, backslashes and control
// characters escaped. Every JSON writer (fsc explain, the plan, fsrun's
// audit records) uses this one.

#include <cstdio>
#include <string>
#include <string_view>

namespace fspol {

inline std::string json_quote(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

}  // namespace fspol
