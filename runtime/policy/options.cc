// Mount options: the policy's `option`s, then mount(8)-style -o lists.
#include <cstdlib>
#include <string>

#include "fspol/runtime/options.h"
#include "fspol/runtime/runtime.h"

namespace fspol::runtime {
namespace {

bool parse_bool(const std::string& v, bool& out) {
  if (v.empty() || v == "true" || v == "1" || v == "yes" || v == "on") {
    out = true;
    return true;
  }
  if (v == "false" || v == "0" || v == "no" || v == "off") {
    out = false;
    return true;
  }
  return false;
}

// Seconds, with an optional unit suffix (ms, s, m, h).
bool parse_seconds(const std::string& v, double& out) {
  char* end = nullptr;
  double x = std::strtod(v.c_str(), &end);
  if (end == v.c_str() || x < 0) return false;
  std::string unit(end);
  if (unit.empty() || unit == "s") {
    out = x;
  } else if (unit == "ms") {
    out = x / 1000.0;
  } else if (unit == "m") {
    out = x * 60.0;
  } else if (unit == "h") {
    out = x * 3600.0;
  } else {
    return false;
  }
  return true;
}

// One option; returns an error message or "".
std::string apply_one(MountOptions& o, const std::string& key, const std::string& value,
                      bool has_value) {
  bool b = true;
  auto want_bool = [&](bool& field) -> std::string {
    if (!parse_bool(value, b)) return "option '" + key + "' takes true or false";
    field = b;
    return "";
  };
  auto want_seconds = [&](double& field) -> std::string {
    if (!has_value || !parse_seconds(value, field)) return "option '" + key + "' takes seconds";
    return "";
  };
  if (key == "cache") {
    if (value == "auto") {
      o.cache = CacheMode::kAuto;
    } else if (value == "never") {
      o.cache = CacheMode::kNever;
    } else if (value == "always") {
      o.cache = CacheMode::kAlways;
    } else {
      return "option 'cache' takes auto, never or always";
    }
    return "";
  }
  if (key == "entry_timeout") return want_seconds(o.entry_timeout);
  if (key == "attr_timeout") return want_seconds(o.attr_timeout);
  if (key == "negative_timeout") return want_seconds(o.negative_timeout);
  if (key == "timeout") {
    std::string e = want_seconds(o.entry_timeout);
    o.attr_timeout = o.negative_timeout = o.entry_timeout;
    return e;
  }
  if (key == "writeback") return want_bool(o.writeback);
  if (key == "passthrough") return want_bool(o.passthrough);
  if (key == "uring") {
    if (value == "auto") {
      o.uring = UringMode::kAuto;
    } else if (value == "on" || (!has_value && value.empty())) {
      o.uring = UringMode::kOn;
    } else if (value == "off") {
      o.uring = UringMode::kOff;
    } else {
      return "option 'uring' takes auto, on or off";
    }
    return "";
  }
  if (key == "allow_other") {
    o.allow_other_set = true;
    return want_bool(o.allow_other);
  }
  if (key == "default_permissions") return want_bool(o.default_permissions);
  if (key == "debug") return want_bool(o.debug);
  if (key == "threads") {
    char* end = nullptr;
    unsigned long n = std::strtoul(value.c_str(), &end, 10);
    if (!has_value || *end != '\0' || n > 256) return "option 'threads' takes 0..256";
    o.threads = static_cast<unsigned>(n);
    return "";
  }
  if (key == "max_write") {
    char* end = nullptr;
    unsigned long n = std::strtoul(value.c_str(), &end, 10);
    if (!has_value || *end != '\0' || n < 4096 || n > (1UL << 20)) {
      return "option 'max_write' takes 4096..1048576";
    }
    o.max_write = static_cast<uint32_t>(n);
    return "";
  }
  if (key == "fsname") {
    o.fsname = value;
    return "";
  }
  if (key == "policy") {
    o.policy_path = value;
    return "";
  }
  if (key == "log") {
    o.log_file = value;
    return "";
  }
  if (key == "audit_log" || key == "default_errno") return "";  // used by rules (later)
  // Generic mount options go to the kernel; fstab's bookkeeping words are
  // dropped as mount(8) does.
  static const char* const kKernel[] = {"ro", "rw", "nosuid", "suid", "nodev", "dev",
                                        "noexec", "exec", "sync", "async", "dirsync",
                                        "noatime", "atime", "nodiratime", "relatime",
                                        "strictatime", "lazytime", "nolazytime"};
  for (const char* k : kKernel) {
    if (key == k && !has_value) {
      o.kernel_options.push_back(key);
      return "";
    }
  }
  static const char* const kIgnored[] = {"defaults", "auto", "noauto", "user", "users",
                                         "nofail", "_netdev", "owner", "group", "nouser"};
  for (const char* k : kIgnored) {
    if (key == k) return "";
  }
  if (key.rfind("x-", 0) == 0 || key.rfind("comment=", 0) == 0) return "";
  return "unknown mount option '" + key + "'";
}

}  // namespace

std::string apply_mount_options(MountOptions& options, const std::string& list) {
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    if (comma == std::string::npos) comma = list.size();
    std::string item = list.substr(start, comma - start);
    start = comma + 1;
    if (item.empty()) continue;
    size_t eq = item.find('=');
    std::string key = item.substr(0, eq);
    std::string value = eq == std::string::npos ? "" : item.substr(eq + 1);
    std::string err = apply_one(options, key, value, eq != std::string::npos);
    if (!err.empty()) return err;
  }
  return "";
}

void apply_policy_options(const Policy& policy, MountOptions& options) {
  for (const auto& [key, value] : policy.options) {
    if (key == "threads" && value == "0") continue;
    (void)apply_one(options, key, value, true);
  }
}

}  // namespace fspol::runtime
