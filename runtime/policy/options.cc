// Mount settings: the policy's `option`s, then mount(8)-style -o lists.
//
// One model: the settings a policy may fix are options.def's rows, and
// each has one meaning, applied by apply_setting() from a typed value. A
// policy's values come typed from the compiler; an -o value is parsed into
// the same typed form by its row's kind (the language's words and
// durations, plus bare seconds). Settings only the command line has
// (transport, logging, the kernel's words) follow.
#include "policy/settings.h"

#include <cstdlib>
#include <string>

#include "fspol/runtime/options.h"
#include "fspol/runtime/runtime.h"
#include "syntax/parser.h"

namespace fspol::runtime {

void apply_setting(MountOptions& o, syntax::OptionName name, const syntax::OptionValue& v) {
  using N = syntax::OptionName;
  double seconds = static_cast<double>(v.number) / 1000.0;
  bool on = v.number != 0;
  switch (name) {
    case N::kCache:
      o.cache = v.text == "never" ? CacheMode::kNever
                : v.text == "always" ? CacheMode::kAlways : CacheMode::kAuto;
      break;
    case N::kEntryTimeout: o.entry_timeout = seconds; break;
    case N::kAttrTimeout: o.attr_timeout = seconds; break;
    case N::kNegativeTimeout: o.negative_timeout = seconds; break;
    case N::kWriteback: o.writeback = on; break;
    case N::kPassthrough: o.passthrough = on; break;
    case N::kAllowOther:
      o.allow_other = on;
      o.allow_other_set = true;
      break;
    case N::kDefaultPermissions: o.default_permissions = on; break;
    case N::kThreads: o.threads = static_cast<unsigned>(v.number); break;  // 0: sized for the machine
    case N::kFsname: o.fsname = v.kind == syntax::OptionValue::Kind::kString ? syntax::decode_string(v.text) : v.text; break;
    case N::kAuditLog: o.audit_log = v.kind == syntax::OptionValue::Kind::kString ? syntax::decode_string(v.text) : v.text; break;
    case N::kDefaultErrno: break;  // the compiler's: deny rules already carry it
  }
}

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

// An -o value as a typed value of its options.def row; on a bad value,
// what the option takes ("true or false").
std::string parse_value(const syntax::OptionInfo& info, const std::string& value, bool has_value,
                        syntax::OptionValue& out) {
  switch (info.kind) {
    case syntax::OptionKind::kBool: {
      bool b = true;
      if (!parse_bool(value, b)) return "true or false";
      out.kind = syntax::OptionValue::Kind::kBool;
      out.number = b ? 1 : 0;
      return "";
    }
    case syntax::OptionKind::kInt: {
      char* end = nullptr;
      unsigned long n = std::strtoul(value.c_str(), &end, 10);
      if (!has_value || value.empty() || *end != '\0' || n > 256) {
        return "a number (0..256)";
      }
      out.kind = syntax::OptionValue::Kind::kInt;
      out.number = n;
      return "";
    }
    case syntax::OptionKind::kDuration: {
      double seconds = 0;
      if (!has_value || !parse_seconds(value, seconds)) {
        return "a duration (seconds, or with ms, s, m, h)";
      }
      out.kind = syntax::OptionValue::Kind::kDuration;
      out.number = static_cast<uint64_t>(seconds * 1000.0 + 0.5);
      return "";
    }
    case syntax::OptionKind::kString:
      out.kind = syntax::OptionValue::Kind::kWord;  // as given: no escapes on a command line
      out.text = value;
      return "";
    case syntax::OptionKind::kEnum: {
      std::string words(info.words);
      for (size_t start = 0; start <= words.size();) {
        size_t comma = words.find(',', start);
        if (comma == std::string::npos) comma = words.size();
        if (words.compare(start, comma - start, value) == 0 && comma - start == value.size()) {
          out.kind = syntax::OptionValue::Kind::kWord;
          out.text = value;
          return "";
        }
        start = comma + 1;
      }
      std::string listed;
      for (char c : words) listed += c == ',' ? std::string(", ") : std::string(1, c);
      if (size_t last = listed.rfind(", "); last != std::string::npos) {
        listed.replace(last, 2, " or ");
      }
      return listed;
    }
  }
  return "";
}

// One option; returns an error message or "".
std::string apply_one(MountOptions& o, const std::string& key, const std::string& value,
                      bool has_value) {
  // A bad value: what the option takes, and what it was given.
  auto takes = [&](const std::string& what) -> std::string {
    return "option '" + key + "' takes " + what +
           (has_value ? ", not '" + value + "'" : ", and was given none");
  };
  bool b = true;
  auto want_bool = [&](bool& field) -> std::string {
    if (!parse_bool(value, b)) return takes("true or false");
    field = b;
    return "";
  };
  auto want_seconds = [&](double& field) -> std::string {
    if (!has_value || !parse_seconds(value, field)) return takes("seconds");
    return "";
  };
  for (const syntax::OptionInfo& info : syntax::option_table()) {
    if (key != info.spelling) continue;
    syntax::OptionValue typed;
    if (std::string what = parse_value(info, value, has_value, typed); !what.empty()) {
      return takes(what);
    }
    apply_setting(o, info.name, typed);
    return "";
  }
  if (key == "timeout") {
    std::string e = want_seconds(o.entry_timeout);
    o.attr_timeout = o.negative_timeout = o.entry_timeout;
    return e;
  }
  if (key == "uring") {
    if (value == "auto") {
      o.uring = UringMode::kAuto;
    } else if (value == "on" || (!has_value && value.empty())) {
      o.uring = UringMode::kOn;
    } else if (value == "off") {
      o.uring = UringMode::kOff;
    } else {
      return takes("auto, on or off");
    }
    return "";
  }
  if (key == "mode") {
    if (value == "auto") {
      o.mode = RunMode::kAuto;
    } else if (value == "fuse-bpf") {
      o.mode = RunMode::kFuseBpf;
    } else if (value == "daemon") {
      o.mode = RunMode::kDaemon;
    } else {
      return takes("auto, fuse-bpf or daemon");
    }
    return "";
  }
  if (key == "bpf") {
    if (!has_value || value.empty()) return takes("a file (fsc compile --emit=bpf-obj)");
    o.bpf_object = value;
    return "";
  }
  if (key == "debug") return want_bool(o.debug);
  if (key == "max_write") {
    char* end = nullptr;
    unsigned long n = std::strtoul(value.c_str(), &end, 10);
    if (!has_value || *end != '\0' || n < 4096 || n > (1UL << 20)) {
      return takes("4096..1048576");
    }
    o.max_write = static_cast<uint32_t>(n);
    return "";
  }
  if (key.rfind("lower.", 0) == 0) {
    if (key.size() == 6 || !has_value || value.empty()) {
      return "option 'lower.NAME' takes a directory (-o lower.objects=/srv/objects), not '" + key +
             (has_value ? "=" + value : "") + "'";
    }
    o.lower_roots.emplace_back(key.substr(6), value);
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
  // Generic mount options go to the kernel; fstab's bookkeeping words are
  // dropped as mount(8) does.
  static const char* const kKernel[] = {"ro", "rw", "nosuid", "suid", "nodev", "dev",
                                        "noexec", "exec", "sync", "async", "dirsync",
                                        "noatime", "atime", "nodiratime", "relatime",
                                        "strictatime", "lazytime", "nolazytime"};
  for (const char* k : kKernel) {
    if (key != k) continue;
    if (has_value)
      return "option '" + key + "' is a kernel flag and takes no value, not '" + value + "'";
    o.kernel_options.push_back(key);
    return "";
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

}  // namespace fspol::runtime
