#pragma once
// Paths as the language sees them: absolute, '/'-separated.

#include <string>
#include <string_view>
#include <vector>

namespace fspol::syntax {

// The components of a path after its leading '/': "/a/b" -> {"a", "b"},
// "/" and "" -> {}. Empty components (from "//" or a trailing '/') are kept
// as "" so that callers can refuse them or skip them.
std::vector<std::string> path_components(std::string_view path);

}  // namespace fspol::syntax
