#include "sema/ids.h"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>

namespace fspol::sema {

namespace {

struct NamedId {
  const char* name;
  uint32_t id;
};

// Debian 12 base-passwd users and groups with fixed ids.
constexpr NamedId kDebianUsers[] = {
    {"root", 0},    {"daemon", 1}, {"bin", 2},    {"sys", 3},      {"sync", 4},
    {"games", 5},   {"man", 6},    {"lp", 7},     {"mail", 8},     {"news", 9},
    {"uucp", 10},   {"proxy", 13}, {"www-data", 33}, {"backup", 34}, {"list", 38},
    {"irc", 39},    {"_apt", 42},  {"nobody", 65534},
};
constexpr NamedId kDebianGroups[] = {
    {"root", 0},     {"daemon", 1},  {"bin", 2},      {"sys", 3},     {"adm", 4},
    {"tty", 5},      {"disk", 6},    {"lp", 7},       {"mail", 8},    {"news", 9},
    {"uucp", 10},    {"man", 12},    {"proxy", 13},   {"kmem", 15},   {"dialout", 20},
    {"fax", 21},     {"voice", 22},  {"cdrom", 24},   {"floppy", 25}, {"tape", 26},
    {"sudo", 27},    {"audio", 29},  {"dip", 30},     {"www-data", 33}, {"backup", 34},
    {"operator", 37}, {"list", 38},  {"irc", 39},     {"src", 40},    {"shadow", 42},
    {"utmp", 43},    {"video", 44},  {"sasl", 45},    {"plugdev", 46}, {"staff", 50},
    {"games", 60},   {"users", 100}, {"nogroup", 65534},
};
// Android's well-known ids (system/core android_filesystem_config.h); the
// same names serve as users and groups there.
constexpr NamedId kAndroidIds[] = {
    {"system", 1000},     {"radio", 1001},    {"bluetooth", 1002}, {"graphics", 1003},
    {"input", 1004},      {"camera", 1006},   {"log", 1007},       {"wifi", 1010},
    {"install", 1012},    {"media", 1013},    {"dhcp", 1014},      {"sdcard_rw", 1015},
    {"vpn", 1016},        {"keystore", 1017}, {"usb", 1018},       {"drm", 1019},
    {"gps", 1021},        {"media_rw", 1023}, {"mtp", 1024},       {"nfc", 1027},
    {"sdcard_r", 1028},   {"shell", 2000},    {"cache", 2001},     {"diag", 2002},
    {"net_bt_admin", 3001}, {"net_bt", 3002}, {"inet", 3003},      {"net_raw", 3004},
    {"everybody", 9997},  {"misc", 9998},
};

Result<void> load(const std::string& path, std::map<std::string, uint32_t>& out) {
  std::ifstream in(path);
  if (!in) return Error{errno, path + ": cannot open: " + std::strerror(errno)};
  std::string line;
  size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string name, password, id;
    if (!std::getline(fields, name, ':') || !std::getline(fields, password, ':') ||
        !std::getline(fields, id, ':')) {
      return Error{0, path + ":" + std::to_string(number) + ": expected name:password:id:..."};
    }
    uint32_t value = 0;
    auto [end, ec] = std::from_chars(id.data(), id.data() + id.size(), value);
    if (ec != std::errc() || end != id.data() + id.size()) {
      return Error{0, path + ":" + std::to_string(number) + ": '" + id + "' is not an id"};
    }
    out[name] = value;
  }
  return {};
}

std::vector<std::string_view> keys(const std::map<std::string, uint32_t>& map) {
  std::vector<std::string_view> out;
  for (const auto& [name, id] : map) out.push_back(name);
  return out;
}

}  // namespace

IdTables::IdTables() {
  for (const NamedId& n : kDebianUsers) users_[n.name] = n.id;
  for (const NamedId& n : kDebianGroups) groups_[n.name] = n.id;
  for (const NamedId& n : kAndroidIds) {
    users_.emplace(n.name, n.id);
    groups_.emplace(n.name, n.id);
  }
}

Result<void> IdTables::load_users(const std::string& path) { return load(path, users_); }
Result<void> IdTables::load_groups(const std::string& path) { return load(path, groups_); }

std::optional<uint32_t> IdTables::user(const std::string& name) const {
  auto it = users_.find(name);
  if (it == users_.end()) return std::nullopt;
  return it->second;
}

std::optional<uint32_t> IdTables::group(const std::string& name) const {
  auto it = groups_.find(name);
  if (it == groups_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string_view> IdTables::user_names() const { return keys(users_); }
std::vector<std::string_view> IdTables::group_names() const { return keys(groups_); }

}  // namespace fspol::sema
