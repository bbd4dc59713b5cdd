#pragma once
// User and group names a policy may use instead of numbers (`uid == root`,
// `gid in {audio, video}`). Names resolve against fixed tables so that the
// same policy compiles the same everywhere: Debian's base-passwd/base-files
// ids, Android's well-known AIDs, plus passwd/group files given explicitly
// with `fsc --users FILE --groups FILE` (never the build host's by default).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "fspol/result.h"

namespace fspol::sema {

class IdTables {
 public:
  IdTables();  // the built-in names

  // Adds "name:x:id:..." lines of a passwd- or group-format file.
  Result<void> load_users(const std::string& path);
  Result<void> load_groups(const std::string& path);

  std::optional<uint32_t> user(const std::string& name) const;
  std::optional<uint32_t> group(const std::string& name) const;
  std::vector<std::string_view> user_names() const;
  std::vector<std::string_view> group_names() const;

 private:
  std::map<std::string, uint32_t> users_;
  std::map<std::string, uint32_t> groups_;
};

}  // namespace fspol::sema
