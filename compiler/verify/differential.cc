// The differential test of the BPF filters against ir_eval (differential.h).
#include "verify/differential.h"

#include <linux/fuse.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <random>
#include <set>
#include <tuple>

#include "ir/decide.h"
#include "ir/ir_eval.h"
#include "ir/request_atoms.h"

namespace fspol::verify {

namespace {

using ir::kByArgs;
using ir::kByName;
using ir::kNoAtoms;
using ir::Op;
using plan::Callback;

// Argument values that reach every row of arg_atoms.def.
std::vector<uint32_t> arg_values(uint32_t opcode) {
  switch (opcode) {
    case FUSE_OPEN: return {0, 1, 2, 2 | 01000, 040};
    case FUSE_SETATTR: return {1, 2, 4, 8, 16, 32, 128 | 256, 1 | 8};
    case FUSE_ACCESS: return {0, 4, 2, 1, 6};
    default: return {0};
  }
}

void add_boundaries(const ir::Condition& c, std::set<uint32_t>& uids, std::set<uint32_t>& gids,
                    std::set<std::string>& comms) {
  using K = ir::Condition::Kind;
  if (c.kind == K::kUidIn || c.kind == K::kGidIn) {
    auto& out = c.kind == K::kUidIn ? uids : gids;
    for (const ir::Interval& v : c.ids) {
      out.insert(v.lo);
      out.insert(v.hi);
      if (v.lo > 0) out.insert(v.lo - 1);
      if (v.hi < 0xfffffffeu) out.insert(v.hi + 1);
    }
  }
  if (c.kind == K::kCommIn) {
    // The name, one byte more and one less, and, for a name the kernel
    // cuts, its first 15 bytes.
    for (const std::string& name : c.names) {
      comms.insert(name.substr(0, 15));
      comms.insert(name + "x");
      comms.insert(name.substr(0, name.size() - 1));
    }
  }
  for (const ir::Condition& o : c.operands) add_boundaries(o, uids, gids, comms);
}

// `comms` holds the process names the callers point to.
std::vector<ir::Caller> callers(const ir::Policy& policy, std::set<std::string>& comms) {
  std::set<uint32_t> uids{0, 1000, 65534}, gids{0, 1000, 65534};
  comms = {"", "sh"};
  for (const ir::Rule& r : policy.rules) {
    if (r.condition) add_boundaries(*r.condition, uids, gids, comms);
  }
  std::vector<ir::Caller> out;
  for (uint32_t u : uids) out.push_back(ir::Caller{u, 1000, {}});
  for (uint32_t g : gids) out.push_back(ir::Caller{1000, g, {}});
  for (const std::string& comm : comms) {
    if (!comm.empty()) out.push_back(ir::Caller{1000, 1000, comm});
  }
  return out;
}

std::string join(const std::string& dir, const std::string& name) {
  return (dir == "/" ? "" : dir) + "/" + name;
}

class Differential {
 public:
  Differential(const ir::Policy& policy, const plan::Plan& plan, const HarnessRun& run)
      : p_(policy), plan_(plan), run_(run), callers_(callers(policy, comms_)) {
    std::set<uint32_t> ids{0, 1000, 65534};
    for (const ir::Rule& r : p_.rules) {
      for (const auto* id : {&r.attr.uid, &r.attr.gid}) {
        if (!*id) continue;
        for (const ir::IdMapping& m : (*id)->mappings) ids.insert(m.from.lo), ids.insert(m.from.hi);
      }
    }
    ids_.assign(ids.begin(), ids.end());
  }

  Result<DifferentialReport> all(uint32_t random_names, uint64_t seed) {
    std::mt19937_64 rng(seed);
    for (uint32_t s = 0; s < plan_.sets.size(); ++s) {
      const plan::ProgramSet& set = plan_.sets[s];
      uint8_t type = static_cast<uint8_t>(set.types & -set.types);
      for (size_t i = 0; i < plan::kCallbackCount; ++i) {
        auto cb = static_cast<Callback>(i);
        if (!node_callback(s, cb, type)) return error_;
      }
      if (!attributes(s, type)) return error_;
      if (!(set.types & syntax::kTypeDir)) continue;
      std::vector<std::string> names;
      for (uint32_t child : p_.classes[set.cls].children) {
        std::string name = plan::name_into(p_, set.cls, child);
        if (!name.empty()) names.push_back(name);
      }
      for (uint32_t k = 0; k < random_names; ++k) names.push_back(random_name(rng));
      mapped_names(names);
      for (const std::string& name : names) {
        if (!named(s, name)) return error_;
      }
    }
    return std::move(report_);
  }

 private:
  // Names each side of every name map fits (and, with a prefix and a
  // suffix, both), each alone too.
  void mapped_names(std::vector<std::string>& names) const {
    for (const ir::Rule& r : p_.rules) {
      for (const ir::NameMap& m : r.names) {
        for (const std::string* part : {&m.view, &m.lower}) {
          names.push_back(m.suffix ? "a" + *part : *part + "a");
          if (!part->empty()) names.push_back(*part);
          for (const ir::NameMap& o : r.names) {
            if (o.suffix != m.suffix)
              names.push_back(m.suffix ? o.view + "b" + *part : *part + "b" + o.view);
          }
        }
      }
    }
  }

  std::string random_name(std::mt19937_64& rng) {
    static constexpr std::string_view kPool = "abcxyzAZ019._-~ ";
    std::string name;
    size_t len = 1 + rng() % 12;
    for (size_t i = 0; i < len; ++i) {
      // Now and then a byte of one of the policy's own literals.
      if (rng() % 3 == 0 && !p_.selectors.empty()) {
        const std::string& lit = p_.selectors[rng() % p_.selectors.size()].pattern;
        char c = lit[rng() % lit.size()];
        if (c != '/' && c != '\0' && c != '*' && c != '{' && c != '}' && c != '[') {
          name += c;
          continue;
        }
      }
      name += kPool[rng() % kPool.size()];
    }
    if (name == "." || name == "..") name += "x";
    return name;
  }

  std::optional<fsp_harness_req> ask(uint32_t set, Callback cb, bool post, const ir::Caller& c,
                                     uint32_t arg, const std::string& name, uint32_t type,
                                     const fuse_attr* attr = nullptr) {
    fsp_harness_req r{};
    if (attr != nullptr) r.attr = *attr;
    r.set = set;
    r.callback = static_cast<uint32_t>(cb);
    r.post = post;
    r.uid = c.uid;
    r.gid = c.gid;
    // As the kernel keeps it: 15 bytes and a NUL.
    c.comm.copy(r.comm, sizeof r.comm - 1);
    r.arg = arg;
    r.type = type;
    r.name_len = static_cast<uint32_t>(std::min<size_t>(name.size(), FSP_NAME_MAX - 1));
    std::memcpy(r.name, name.data(), r.name_len);
    auto out = run_(r);
    if (!out) {
      error_ = out.error();
      return std::nullopt;
    }
    return *out;
  }

  // The errno ir_eval gives for atoms `atoms` on `path` (first in atom order).
  int expected(const std::string& path, ir::OpSet atoms, uint8_t type, const ir::Caller& c) {
    for (size_t op = 0; op < ir::kOpCount; ++op) {
      if (!(atoms & ir::bit(static_cast<Op>(op)))) continue;
      auto v = ir::evaluate(p_, ir::Request{path, static_cast<Op>(op), c, type, std::nullopt});
      if (v && v->error) return v->error;
    }
    return 0;
  }

  // 0 allowed, an errno, or -1: the daemon decides.
  static int outcome(int result, bool pre) {
    if (result < 0) return -result;
    switch (result) {
      case plan::kContinue:
      case plan::kPostfilter:
      case plan::kUserPostfilter:
        return 0;
      default:
        (void)pre;
        return -1;
    }
  }

  void compare(int got, int want, const std::string& what) {
    if (got == -1) {
      ++report_.daemon;
      return;
    }
    ++report_.requests;
    if (got == want) {
      ++report_.agreed;
    } else if (report_.mismatches.size() < 40) {
      report_.mismatches.push_back(what + ": BPF " + std::to_string(got) + ", ir_eval " +
                                   std::to_string(want));
    }
  }

  static std::string who(const ir::Caller& c) {
    return "uid " + std::to_string(c.uid) + " gid " + std::to_string(c.gid) +
           (c.comm.empty() ? "" : " comm " + std::string(c.comm));
  }

  // The attributes the view shows (ir_eval's effective rewrite).
  static fuse_attr rewritten(fuse_attr a, const ir::AttrRewrite& r) {
    if (r.mode) a.mode = ir::rewrite_mode(*r.mode, a.mode);
    if (r.uid) a.uid = ir::rewrite_id(*r.uid, a.uid);
    if (r.gid) a.gid = ir::rewrite_id(*r.gid, a.gid);
    auto time = [](uint64_t& t, uint32_t& ns, const std::optional<int64_t>& v) {
      if (v) t = static_cast<uint64_t>(*v), ns = 0;
    };
    time(a.atime, a.atimensec, r.atime);
    time(a.mtime, a.mtimensec, r.mtime);
    time(a.ctime, a.ctimensec, r.ctime);
    return a;
  }

  // Attributes from the lower file system, for one node type.
  std::vector<fuse_attr> lower_attrs(uint8_t type) const {
    static constexpr uint32_t kFmt[] = {0100000, 0040000, 0120000, 0010000, 0140000, 0020000, 0060000};
    uint32_t fmt = kFmt[__builtin_ctz(type)];
    std::vector<fuse_attr> out;
    for (uint32_t id : ids_) {
      fuse_attr a{};
      a.mode = fmt | 04755;
      a.uid = id;
      a.gid = id;
      a.atime = a.mtime = a.ctime = 1000000;
      a.atimensec = a.mtimensec = a.ctimensec = 7;
      out.push_back(a);
    }
    return out;
  }

  void compare_attr(const fuse_attr& got, const fuse_attr& want, const std::string& what) {
    ++report_.requests;
    if (got.mode == want.mode && got.uid == want.uid && got.gid == want.gid &&
        got.atime == want.atime && got.mtime == want.mtime && got.ctime == want.ctime &&
        got.atimensec == want.atimensec && got.mtimensec == want.mtimensec &&
        got.ctimensec == want.ctimensec) {
      ++report_.agreed;
    } else if (report_.mismatches.size() < 40) {
      char buf[160];
      std::snprintf(buf, sizeof buf, ": BPF mode %o uid %u gid %u mtime %llu, ir_eval mode %o uid %u gid %u mtime %llu",
                    got.mode, got.uid, got.gid, static_cast<unsigned long long>(got.mtime), want.mode,
                    want.uid, want.gid, static_cast<unsigned long long>(want.mtime));
      report_.mismatches.push_back(what + buf);
    }
  }

  // getattr: the prefilter asks for the postfilter, which rewrites.
  bool attributes(uint32_t s, uint8_t type) {
    const plan::ProgramSet& set = plan_.sets[s];
    for (const ir::Caller& c : callers_) {
      auto v = ir::evaluate(p_, ir::Request{set.example, Op::kStat, c, type, std::nullopt});
      if (!v || v->error) continue;
      auto pre = ask(s, Callback::getattr, false, c, 0, "", type);
      if (!pre) return false;
      if (pre->result == plan::kUserPostfilter || pre->result == plan::kUserPrefilter ||
          pre->result == plan::kUser) {
        ++report_.daemon;
        continue;
      }
      for (const fuse_attr& lower : lower_attrs(type)) {
        fuse_attr got = lower;
        if (pre->result == plan::kPostfilter) {
          auto post = ask(s, Callback::getattr, true, c, 0, "", type, &lower);
          if (!post) return false;
          got = post->attr;
        }
        compare_attr(got, rewritten(lower, v->attr),
                     "getattr of " + set.example + " (" + who(c) + ", lower uid " +
                         std::to_string(lower.uid) + ")");
      }
    }
    return true;
  }

  bool node_callback(uint32_t s, Callback cb, uint8_t type) {
    const plan::ProgramSet& set = plan_.sets[s];
    uint32_t opcode = plan::callback_opcode(cb);
    uint64_t atoms = ir::request_atoms(opcode);
    if (atoms == kNoAtoms || atoms == kByName) return true;
    if (cb == Callback::copy_file_range) atoms = ir::bit(Op::kRead);
    for (uint32_t arg : arg_values(opcode)) {
      ir::OpSet ops = atoms == kByArgs ? ir::arg_atoms(opcode, arg) : static_cast<ir::OpSet>(atoms);
      if (cb == Callback::setattr && (arg & (FATTR_UID | FATTR_GID))) {
        if (!chown_ids(s, arg, ops, type)) return false;
        continue;
      }
      for (const ir::Caller& c : callers_) {
        auto r = ask(s, cb, false, c, arg, "", type);
        if (!r) return false;
        compare(outcome(r->result, true), expected(set.example, ops, type, c),
                std::string(plan::callback_name(cb)) + " pre of " + set.example + " (arg " +
                    std::to_string(arg) + ", " + who(c) + ")");
      }
    }
    return true;
  }

  // chown through the view: the setattr prefilter maps the ids asked for
  // back to the lower ones (EPERM when none shows so), as ir::lower_id.
  bool chown_ids(uint32_t s, uint32_t arg, ir::OpSet ops, uint8_t type) {
    const plan::ProgramSet& set = plan_.sets[s];
    for (const ir::Caller& c : callers_) {
      for (uint32_t id : ids_) {
        fuse_attr asked{};
        asked.uid = asked.gid = id;
        auto r = ask(s, Callback::setattr, false, c, arg, "", type, &asked);
        if (!r) return false;
        int want = expected(set.example, ops, type, c);
        fuse_attr lower = asked;
        if (want == 0) {
          size_t op = 0;
          while (op + 1 < ir::kOpCount && !(ops & ir::bit(static_cast<Op>(op)))) ++op;
          auto v = ir::evaluate(
              p_, ir::Request{set.example, static_cast<Op>(op), c, type, std::nullopt});
          ir::AttrRewrite none;
          const ir::AttrRewrite& applied = v ? v->attr : none;
          for (auto [bit, rw, field] :
               {std::tuple{uint32_t{FATTR_UID}, &applied.uid, &lower.uid},
                std::tuple{uint32_t{FATTR_GID}, &applied.gid, &lower.gid}}) {
            if (!(arg & bit) || !*rw) continue;
            int64_t l = ir::lower_id(**rw, id);
            if (l == ir::kNoLowerId) want = EPERM;
            *field = l == ir::kKeepLowerId ? 0xffffffffu : static_cast<uint32_t>(l);
          }
        }
        std::string what = "setattr pre of " + set.example + " (arg " + std::to_string(arg) +
                           ", ids " + std::to_string(id) + ", " + who(c) + ")";
        int got = outcome(r->result, true);
        compare(got, want, what);
        if (got == 0 && want == 0 && (r->attr.uid != lower.uid || r->attr.gid != lower.gid) &&
            report_.mismatches.size() < 40) {
          report_.mismatches.push_back(what + ": BPF lower ids " + std::to_string(r->attr.uid) +
                                       ":" + std::to_string(r->attr.gid) + ", ir " +
                                       std::to_string(lower.uid) + ":" + std::to_string(lower.gid));
        }
      }
    }
    return true;
  }

  bool named(uint32_t s, const std::string& name) {
    const plan::ProgramSet& set = plan_.sets[s];
    std::string path = join(set.example, name);
    struct Named {
      Callback cb;
      Op op;
      uint8_t type;
    };
    static constexpr Named kNamed[] = {
        {Callback::create_open, Op::kCreate, syntax::kTypeFile},
        {Callback::mknod, Op::kCreate, syntax::kTypeFifo},
        {Callback::mkdir, Op::kCreate, syntax::kTypeDir},
        {Callback::symlink, Op::kCreate, syntax::kTypeSymlink},
        {Callback::unlink, Op::kDelete, syntax::kTypeFile},
        {Callback::unlink, Op::kDelete, syntax::kTypeSymlink},
        {Callback::rmdir, Op::kDelete, syntax::kTypeDir},
    };
    for (const ir::Caller& c : callers_) {
      for (const Named& n : kNamed) {
        auto r = ask(s, n.cb, false, c, 0, name, 0);
        if (!r) return false;
        int want = expected(path, ir::bit(n.op), n.type, c);
        compare(outcome(r->result, true), want,
                std::string(plan::callback_name(n.cb)) + " pre of \x27" + path + "\x27 (" + std::to_string(name.size()) + " bytes) type " + std::to_string(n.type) + " (" + who(c) + ")");
      }
      if (!lookup(s, name, path, c)) return false;
    }
    return true;
  }

  bool lookup(uint32_t s, const std::string& name, const std::string& path, const ir::Caller& c) {
    auto pre = ask(s, Callback::lookup, false, c, 0, name, 0);
    if (!pre) return false;
    uint32_t cls = ir::path_class(p_, path);
    for (int b = 0; b < 7; ++b) {
      uint8_t type = static_cast<uint8_t>(1u << b);
      int want = expected(path, ir::bit(Op::kLookup), type, c);
      // The daemon's lookup postfilter decides the rest, and the child's set.
      int got = pre->result == plan::kUserPostfilter ? -1 : outcome(pre->result, true);
      int32_t child_set = -1;
      if (got == 0 && pre->result == plan::kPostfilter) {
        auto post = ask(s, Callback::lookup, true, c, 0, name, type);
        if (!post) return false;
        got = post->result == plan::kUserPostfilter ? -1 : outcome(post->result, false);
        child_set = post->child_set;
      }
      std::string what = "lookup of " + path + " as type " + std::to_string(type) + " (" + who(c) + ")";
      compare(got, want, what);
      if (want == 0 && outcome(pre->result, true) == 0) lower_name(*pre, path, type, c, what);
      if (got != 0 || want != 0) continue;
      uint32_t target = child_set >= 0 ? static_cast<uint32_t>(child_set) : s;
      const plan::ProgramSet& t = plan_.sets[target];
      ++report_.requests;
      if (t.cls == cls && (t.types & type)) {
        ++report_.agreed;
      } else if (report_.mismatches.size() < 40) {
        report_.mismatches.push_back(what + ": attaches set " + std::to_string(target) +
                                     " (class " + std::to_string(t.cls) + "), the path is class " +
                                     std::to_string(cls));
      }
    }
    return true;
  }

  // The name the kernel looks up (a name map's lower name) is the last
  // component of ir_eval's lower path.
  void lower_name(const fsp_harness_req& pre, const std::string& path, uint8_t type,
                  const ir::Caller& c, const std::string& what) {
    auto v = ir::evaluate(p_, ir::Request{path, Op::kLookup, c, type, std::nullopt});
    if (!v) return;
    std::string want = v->lower_path.substr(v->lower_path.rfind('/') + 1);
    std::string got(pre.lower, std::min<size_t>(pre.lower_len, sizeof pre.lower));
    ++report_.requests;
    if (got == want) {
      ++report_.agreed;
    } else if (report_.mismatches.size() < 40) {
      report_.mismatches.push_back(what + ": BPF looks up '" + got +
                                   "', ir_eval's lower name is '" + want + "'");
    }
  }

  const ir::Policy& p_;
  const plan::Plan& plan_;
  const HarnessRun& run_;
  std::set<std::string> comms_;  // before callers_, which point into it
  std::vector<ir::Caller> callers_;
  std::vector<uint32_t> ids_;  // lower uids and gids worth rewriting
  DifferentialReport report_;
  Error error_;
};

}  // namespace

Result<DifferentialReport> differential(const ir::Policy& policy, const plan::Plan& plan,
                                        const HarnessRun& run, uint32_t random_names,
                                        uint64_t seed) {
  return Differential(policy, plan, run).all(random_names, seed);
}

}  // namespace fspol::verify
