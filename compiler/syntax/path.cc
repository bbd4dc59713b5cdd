#include "syntax/path.h"

namespace fspol::syntax {

std::vector<std::string> path_components(std::string_view path) {
  std::vector<std::string> out;
  if (!path.empty() && path[0] == '/') path.remove_prefix(1);
  if (path.empty()) return out;
  size_t start = 0;
  for (;;) {
    size_t end = path.find('/', start);
    out.emplace_back(path.substr(start, end == std::string_view::npos ? std::string_view::npos
                                                                       : end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return out;
}

}  // namespace fspol::syntax
