// The planner (plan.h): node states and their program sets, then every
// filter of every set, resolved from the decision tables.
#include "plan/plan.h"

#include <linux/fuse.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <functional>
#include <map>
#include <tuple>

#include "ir/codec.h"
#include "ir/decide.h"
#include "ir/request_atoms.h"

namespace fspol::plan {

namespace {

using ir::Entry;
using ir::kByArgs;
using ir::kByName;
using ir::kNoAtoms;
using ir::Op;
using syntax::RuleKind;

constexpr uint8_t kDir = syntax::kTypeDir;
constexpr uint8_t kAllTypes = syntax::kTypeAny;
constexpr uint8_t kNonDir = kAllTypes & ~kDir;
constexpr uint8_t kMknodTypes = syntax::kTypeFile | syntax::kTypeFifo | syntax::kTypeSocket |
                                syntax::kTypeChardev | syntax::kTypeBlockdev;

constexpr ProfileInfo kProfiles[] = {
#define FSPOL_PROFILE(id, name, uid_gid, comm, made_sets, view_names, node_states, summary) \
  {name, uid_gid, comm, made_sets, view_names, node_states, summary},
#include "plan/profiles.def"
};

struct CallbackInfo {
  std::string_view name;
  uint32_t opcode;
};
constexpr CallbackInfo kCallbacks[] = {
#define FUSE_BPF_OP(name, opcode, pre, post) {#name, opcode},
#include "fuse_bpf_ops.def"
};
static_assert(std::size(kCallbacks) == kCallbackCount);

struct ArgAtom {
  uint32_t opcode;
  Op atom;
};
constexpr ArgAtom kArgAtoms[] = {
#define FSPOL_ARG_ATOM(opcode, type, field, atom, predicate) {opcode, Op::atom},
#include "ir/arg_atoms.def"
};

bool applies(const Entry& e, uint8_t types) { return e.types == 0 || (e.types & types) != 0; }

// Every entry of a class's tables, for grouping file types.
void for_each_entry(const ir::ClassTable& t, const std::function<void(const Entry&)>& f) {
  for (const Entry& e : t.hidden) f(e);
  for (const auto& l : t.access) for (const Entry& e : l) f(e);
  for (const auto& l : t.attr) for (const Entry& e : l) f(e);
  for (const Entry& e : t.names) f(e);
  for (const Entry& e : t.placement) f(e);
  for (const auto& l : t.handler) for (const Entry& e : l) f(e);
  for (const auto& l : t.audit) for (const Entry& e : l) f(e);
}

// The groups of file types a class's rules treat alike, in type order.
std::vector<uint8_t> type_groups(const ir::ClassTable& t) {
  std::map<std::vector<bool>, uint8_t> groups;
  std::vector<std::vector<bool>> order;
  for (int b = 0; b < 7; ++b) {
    uint8_t type = static_cast<uint8_t>(1u << b);
    std::vector<bool> signature;
    for_each_entry(t, [&](const Entry& e) { signature.push_back(applies(e, type)); });
    auto [it, fresh] = groups.emplace(signature, 0);
    it->second |= type;
    if (fresh) order.push_back(signature);
  }
  std::vector<uint8_t> out;
  for (const auto& s : order) out.push_back(groups[s]);
  return out;
}

bool kernel_can(const ir::Condition& c, const ProfileInfo& profile) {
  using K = ir::Condition::Kind;
  switch (c.kind) {
    case K::kUidIn:
    case K::kGidIn: return profile.uid_gid;
    case K::kCommIn: return profile.comm;
    default:
      for (const ir::Condition& o : c.operands) {
        if (!kernel_can(o, profile)) return false;
      }
      return true;
  }
}

std::string op_text(Op op) { return std::string(ir::op_name(op)); }

class Planner {
 public:
  Planner(const ir::Policy& policy, Profile profile)
      : p_(policy), profile_(profile_info(profile)) {
    plan_.profile = profile;
  }

  Plan run() {
    find_problems();
    find_sets();
    for (uint32_t s = 0; s < plan_.sets.size(); ++s) plan_filters(s);
    mark_passthrough();
    for (uint32_t s = 0; s < plan_.sets.size(); ++s) plan_lookup_post(s);
    for (uint32_t s = 0; s < plan_.sets.size(); ++s) kernel_listing(s);
    mark_tracked();
    for (uint32_t s = 0; s < plan_.sets.size(); ++s) {
      route_tracked_lookups(s);
      route_tracked_creates(s);
    }
    return std::move(plan_);
  }

 private:
  using Key = std::tuple<uint32_t, std::vector<uint32_t>, uint8_t>;

  const ir::ClassTable& table(uint32_t cls) const { return p_.tables[cls]; }
  const ir::Rule& rule(uint32_t id) const { return p_.rules[id]; }

  // The conditional directory hides a child of set `s` carries.
  std::vector<uint32_t> child_hidden_above(const ProgramSet& s) const {
    std::vector<uint32_t> out = s.hidden_above;
    for (const Entry& e : table(s.cls).hidden) {
      if (e.conditional && applies(e, kDir)) out.push_back(e.rule);
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }

  // A set's children are unreachable when an unconditional hide covers
  // it as a directory.
  bool hides_children(const ProgramSet& s) const {
    for (const Entry& e : table(s.cls).hidden) {
      if (!e.conditional && applies(e, kDir)) return true;
    }
    return false;
  }

  // A node of class `cls` and types `types` that an unconditional hide
  // removes from every view.
  bool always_hidden(uint32_t cls, uint8_t types) const {
    for (const Entry& e : table(cls).hidden) {
      if (!e.conditional && applies(e, types)) return true;
    }
    return false;
  }

  // The set of a node state, made on first sight at `path`.
  uint32_t set_of(uint32_t cls, const std::vector<uint32_t>& above, uint8_t type,
                  const std::string& path) {
    for (uint8_t group : type_groups(table(cls))) {
      if (!(group & type)) continue;
      Key key{cls, above, group};
      auto it = index_.find(key);
      if (it != index_.end()) return it->second;
      uint32_t id = static_cast<uint32_t>(plan_.sets.size());
      ProgramSet set;
      set.cls = cls;
      set.hidden_above = above;
      set.types = group;
      set.example = path;
      plan_.sets.push_back(std::move(set));
      index_.emplace(std::move(key), id);
      queue_.push_back(id);
      return id;
    }
    return 0;  // unreachable: the groups cover every type
  }

  void find_sets() {
    set_of(0, {}, kDir, "/");
    for (size_t i = 0; i < queue_.size(); ++i) {
      uint32_t s = queue_[i];
      if (!(plan_.sets[s].types & kDir) || hides_children(plan_.sets[s])) continue;
      std::vector<uint32_t> above = child_hidden_above(plan_.sets[s]);
      uint32_t parent_cls = plan_.sets[s].cls;
      std::vector<uint32_t> kids;
      std::string dir = plan_.sets[s].example == "/" ? "" : plan_.sets[s].example;
      for (uint32_t child : p_.classes[parent_cls].children) {
        std::string path = dir + "/" + name_into(p_, parent_cls, child);
        for (uint8_t group : type_groups(table(child))) {
          if (always_hidden(child, group)) continue;
          kids.push_back(set_of(child, above, group, path));
        }
      }
      std::sort(kids.begin(), kids.end());
      kids.erase(std::unique(kids.begin(), kids.end()), kids.end());
      plan_.sets[s].children = std::move(kids);
    }
    uint32_t hash = 2166136261u;
    for (char c : p_.name) hash = (hash ^ static_cast<uint8_t>(c)) * 16777619u;
    char prefix[16];
    std::snprintf(prefix, sizeof prefix, "fsp%04x_", hash & 0xffff);
    for (uint32_t s = 0; s < plan_.sets.size(); ++s) {
      plan_.sets[s].name = prefix + std::to_string(profile_.node_states ? 0 : s);
    }
  }

  // ---- chains --------------------------------------------------------

  Test test_of(const Entry& e, int error) const { return Test{e.rule, e.conditional, error}; }

  // The hides that end a request on a node with these ancestors, class
  // and types (Engine::hidden), with `error`.
  Chain hidden_chain(const std::vector<uint32_t>& above, uint32_t cls, uint8_t types,
                     int error, bool untyped_only = false) const {
    Chain c{"hidden", -1, {}};
    for (uint32_t r : above) c.tests.push_back(Test{r, true, error});
    for (const Entry& e : table(cls).hidden) {
      if (untyped_only ? e.types != 0 : !applies(e, types)) continue;
      c.tests.push_back(test_of(e, error));
      if (!e.conditional) break;
    }
    return c;
  }

  // The first-match access list of `op` for these types.
  Chain access_chain(uint32_t cls, Op op, uint8_t types, int arg_atom = -1) const {
    Chain c{"access " + op_text(op), arg_atom, {}};
    for (const Entry& e : table(cls).access[static_cast<size_t>(op)]) {
      if (!applies(e, types)) continue;
      const ir::Rule& r = rule(e.rule);
      c.tests.push_back(test_of(e, r.kind == RuleKind::kAllow ? 0 : r.errno_value));
      if (!e.conditional) break;
    }
    return c;
  }

  // Engine::check on a set's nodes.
  Decision node_check(const ProgramSet& s, uint32_t opcode, ir::OpSet atoms) const {
    Decision d;
    d.chains.push_back(hidden_chain(s.hidden_above, s.cls, s.types, ENOENT));
    for (size_t op = 0; op < ir::kOpCount; ++op) {
      if (atoms & ir::bit(static_cast<Op>(op))) {
        d.chains.push_back(access_chain(s.cls, static_cast<Op>(op), s.types));
      }
    }
    for (size_t row = 0; row < std::size(kArgAtoms); ++row) {
      if (kArgAtoms[row].opcode != opcode) continue;
      d.chains.push_back(access_chain(s.cls, kArgAtoms[row].atom, s.types, static_cast<int>(row)));
    }
    return d;
  }

  // Engine::check_new for a child of class `child` and one type.
  Decision new_check(const ProgramSet& dir, uint32_t child, Op op, uint8_t type) const {
    Decision d;
    d.chains.push_back(hidden_chain(dir.hidden_above, dir.cls, kDir, ENOENT));
    d.chains.push_back(hidden_chain({}, child, type, EACCES));
    d.chains.back().what = "hidden name";
    d.chains.push_back(access_chain(child, ir::destination_op(op), type));
    return d;
  }

  // Deleting a child: the lookup's hides, then delete (check_named).
  Decision delete_check(const ProgramSet& dir, uint32_t child, uint8_t type) const {
    Decision d;
    d.chains.push_back(hidden_chain(child_hidden_above(dir), child, type, ENOENT));
    d.chains.push_back(access_chain(child, Op::kDelete, type));
    return d;
  }

  static void drop_empty(Decision& d) {
    std::erase_if(d.chains, [](const Chain& c) { return c.tests.empty(); });
  }
  static bool decides(const Decision& d) {
    bool attr = false;
    for (const auto& field : d.attr) attr = attr || !field.empty();
    return !d.chains.empty() || attr || d.then != kContinue;
  }

  // The attribute rewrites of a class for these types: per field, first match.
  std::array<std::vector<Test>, ir::kAttrFieldCount> attr_tests(uint32_t cls, uint8_t types) const {
    std::array<std::vector<Test>, ir::kAttrFieldCount> out;
    for (size_t f = 0; f < ir::kAttrFieldCount; ++f) {
      for (const Entry& e : table(cls).attr[f]) {
        if (!applies(e, types)) continue;
        out[f].push_back(test_of(e, 0));
        if (!e.conditional) break;
      }
    }
    return out;
  }

  // The rules behind the tests of a decision whose conditions BPF cannot
  // evaluate on this profile.
  std::vector<uint32_t> unplaceable(const Decision& d) const {
    std::vector<uint32_t> out;
    auto visit = [&](const std::vector<Test>& tests) {
      for (const Test& t : tests) {
        if (t.conditional && !kernel_can(*rule(t.rule).condition, profile_)) out.push_back(t.rule);
      }
    };
    for (const Chain& c : d.chains) visit(c.tests);
    for (const auto& field : d.attr) visit(field);
    return out;
  }

  void to_daemon(Filter& f, std::string reason, std::vector<uint32_t> rules) const {
    f.where = Where::kDaemon;
    f.reason = std::move(reason);
    std::sort(rules.begin(), rules.end());
    rules.erase(std::unique(rules.begin(), rules.end()), rules.end());
    f.rules = std::move(rules);
    f.node = Decision{};
    f.children.clear();
    f.by_name = false;
  }

  std::string condition_reason(const std::vector<uint32_t>& rules) const {
    bool comm = false;
    std::function<void(const ir::Condition&)> walk = [&](const ir::Condition& c) {
      comm = comm || c.kind == ir::Condition::Kind::kCommIn;
      for (const ir::Condition& o : c.operands) walk(o);
    };
    for (uint32_t r : rules) walk(*rule(r).condition);
    if (comm && !profile_.comm) {
      return "a condition on the process name: the " + std::string(profile_.name) +
             " profile offers no bpf_get_current_comm()";
    }
    return "a condition on the caller's uid/gid: the " + std::string(profile_.name) +
           " profile offers no bpf_get_current_uid_gid()";
  }

  // Settles a filter from its decisions: none, kernel, or the daemon
  // when a condition is beyond the profile.
  void settle(Filter& f) const {
    if (f.where == Where::kDaemon) return;
    std::vector<uint32_t> rules;
    auto visit = [&](Decision& d) {
      drop_empty(d);
      auto r = unplaceable(d);
      rules.insert(rules.end(), r.begin(), r.end());
    };
    bool any = false;
    if (f.by_name) {
      for (Filter::Child& c : f.children) {
        visit(c.decision);
        any = any || decides(c.decision) || c.name_map;
      }
      std::erase_if(f.children,
                    [](const Filter::Child& c) { return !decides(c.decision) && !c.name_map; });
    } else {
      visit(f.node);
      any = decides(f.node);
    }
    if (!rules.empty()) {
      to_daemon(f, condition_reason(rules), rules);
      return;
    }
    f.where = any ? Where::kKernel : Where::kNone;
  }

  // ---- filters of one set ---------------------------------------------

  // A by-name decision that must not depend on a type the filter cannot
  // see: the decision for each of `types`, or nullopt when they differ.
  template <typename Make>
  std::optional<Decision> same_for(uint8_t types, Make&& make) const {
    std::optional<Decision> out;
    for (int b = 0; b < 7; ++b) {
      uint8_t type = static_cast<uint8_t>(1u << b);
      if (!(types & type)) continue;
      Decision d = make(type);
      drop_empty(d);
      if (out && !(*out == d)) return std::nullopt;
      out = std::move(d);
    }
    return out;
  }

  void plan_by_name(uint32_t s, Filter& f, Op op, uint8_t types, bool creates) {
    const ProgramSet& set = plan_.sets[s];
    f.by_name = true;
    if (hides_children(set)) return;
    std::vector<uint32_t> above = child_hidden_above(set);
    for (uint32_t child : p_.classes[set.cls].children) {
      auto d = same_for(types, [&](uint8_t type) {
        return creates ? new_check(set, child, op, type) : delete_check(set, child, type);
      });
      if (!d) {
        to_daemon(f, "the decision on '" + p_.classes[child].example +
                         "' depends on the file type, which this filter does not see", {});
        return;
      }
      if (creates && !profile_.made_sets) {
        // The kernel gives a created node its directory's program set:
        // a name whose rules differ is created by the daemon instead.
        for (int b = 0; b < 7; ++b) {
          uint8_t type = static_cast<uint8_t>(1u << b);
          if (!(types & type) || always_hidden(child, type)) continue;
          if (state_key(child, above, type) != state_key(set.cls, set.hidden_above, set.types)) {
            d->then = kUser;
            d->then_reason = "a new node gets its directory's program set, and '" +
                             p_.classes[child].example + "' has other rules";
            break;
          }
        }
      }
      f.children.push_back(Filter::Child{child, 0, std::move(*d), std::nullopt});
    }
  }

  Key state_key(uint32_t cls, const std::vector<uint32_t>& above, uint8_t type) const {
    for (uint8_t group : type_groups(table(cls))) {
      if (group & type) return Key{cls, above, group};
    }
    return Key{cls, above, 0};
  }

  void plan_filters(uint32_t s) {
    ProgramSet& set = plan_.sets[s];
    for (size_t i = 0; i < kCallbackCount; ++i) {
      auto cb = static_cast<Callback>(i);
      uint32_t opcode = kCallbacks[i].opcode;
      Filters& fs = set.filters[i];
      uint64_t atoms = ir::request_atoms(opcode);
      switch (cb) {
        case Callback::lookup: plan_lookup_pre(s, fs.pre); continue;
        case Callback::create_open: plan_by_name(s, fs.pre, Op::kCreate, syntax::kTypeFile, true); break;
        case Callback::mknod: plan_by_name(s, fs.pre, Op::kCreate, kMknodTypes, true); break;
        case Callback::mkdir: plan_by_name(s, fs.pre, Op::kCreate, kDir, true); break;
        case Callback::symlink: plan_by_name(s, fs.pre, Op::kCreate, syntax::kTypeSymlink, true); break;
        case Callback::unlink: plan_by_name(s, fs.pre, Op::kDelete, kNonDir, false); break;
        case Callback::rmdir: plan_by_name(s, fs.pre, Op::kDelete, kDir, false); break;
        case Callback::rename:
        case Callback::rename2:
        case Callback::link:
          if (!p_.rules.empty()) {
            to_daemon(fs.pre, std::string(cb == Callback::link ? "link" : "rename") +
                                  " is checked on two nodes, and the other one's rules are "
                                  "not visible to this filter", {});
          }
          continue;
        case Callback::copy_file_range:
          if (writes_decided()) {
            to_daemon(fs.pre, "copy_file_range writes a second file whose rules are not "
                              "visible to this filter", {});
            continue;
          }
          fs.pre.node = node_check(set, opcode, ir::bit(Op::kRead));
          break;
        default:
          if (atoms == kNoAtoms) continue;
          fs.pre.node = node_check(set, opcode, atoms == kByArgs ? 0 : static_cast<ir::OpSet>(atoms));
          if (cb == Callback::setattr) {
            // chown through the view gives the ids the view shows: the
            // prefilter maps them back, as Engine::lower_ids does.
            auto attr = attr_tests(set.cls, set.types);
            for (ir::AttrField f : {ir::AttrField::kUid, ir::AttrField::kGid}) {
              fs.pre.node.attr[static_cast<size_t>(f)] = attr[static_cast<size_t>(f)];
            }
          }
          break;
      }
      settle(fs.pre);
      place_other_layers(s, cb, opcode, atoms, fs);
    }
    // Listings: hidden or renamed children are filtered by the daemon
    // (kernel_listing moves what BPF can do to BPF).
    Filters& rd = set.filters[static_cast<size_t>(Callback::readdir)];
    std::vector<uint32_t> listed = listing_rules(set);
    if (rd.post.where == Where::kNone && !listed.empty()) {
      to_daemon(rd.post, std::string(kListingReason), listed);
      ask_post(rd, kUserPostfilter);
    }
    // Names redirects bring from other lower roots are not in the lower
    // directory the kernel reads: the daemon lists (merging, as in daemon
    // mode).
    std::vector<uint32_t> placed = placement_rules(set);
    if (!placed.empty()) {
      rd.post = Filter{};
      to_daemon(rd.pre,
                "listings merge the names redirects bring from other lower roots, "
                "in the daemon",
                placed);
      rd.pre.daemon_result = kUser;
    }
    daemon_opens(set);
  }

  std::vector<uint32_t> placement_rules(const ProgramSet& set) const {
    std::vector<uint32_t> out;
    if (!(set.types & kDir)) return out;
    for (uint32_t child : p_.classes[set.cls].children) {
      for (const Entry& e : table(child).placement) out.push_back(e.rule);
    }
    return out;
  }

  // The daemon serves a directory's lookups (it chooses the lower names,
  // or decides what BPF cannot): the names in it are its nodes, so it
  // makes and removes them too (a name map or redirect also places them).
  void daemon_names(ProgramSet& set, const Filter& lookup) {
    static constexpr Callback kNamed[] = {Callback::create_open, Callback::mknod,   Callback::mkdir,
                                          Callback::symlink,     Callback::unlink,  Callback::rmdir,
                                          Callback::rename,      Callback::rename2, Callback::link};
    for (Callback cb : kNamed) {
      Filters& fs = set.filters[static_cast<size_t>(cb)];
      fs.post = Filter{};
      to_daemon(fs.pre,
                "the daemon serves this directory's lookups, so its names are the "
                "daemon's: " +
                    lookup.reason,
                lookup.rules);
      fs.pre.daemon_result = kUser;
    }
  }

  // An open file's requests go where it was opened: the kernel sends a
  // file the daemon opened to the daemon, and a file it opened itself has
  // a handle the daemon never made. So where the daemon serves a handle's
  // request whole, it opens the file too.
  void daemon_opens(ProgramSet& set) {
    static constexpr std::pair<Callback, Callback> kOnHandles[] = {
        {Callback::read_iter, Callback::open},  {Callback::write_iter, Callback::open},
        {Callback::lseek, Callback::open},      {Callback::fsync, Callback::open},
        {Callback::flush, Callback::open},      {Callback::file_fallocate, Callback::open},
        {Callback::readdir, Callback::opendir}, {Callback::dir_fsync, Callback::opendir}};
    for (auto [cb, open] : kOnHandles) {
      const Filter& pre = set.filters[static_cast<size_t>(cb)].pre;
      if (pre.where != Where::kDaemon || pre.daemon_result != kUser) continue;
      {
        Filters& fs = set.filters[static_cast<size_t>(open)];
        if (fs.pre.where == Where::kDaemon && fs.pre.daemon_result == kUser) continue;
        std::vector<uint32_t> rules = pre.rules;
        fs.post = Filter{};
        to_daemon(fs.pre,
                  "the daemon serves " + std::string(callback_name(cb)) +
                      " whole, so it opens the file: " + pre.reason,
                  rules);
        fs.pre.daemon_result = kUser;
      }
    }
  }

  bool writes_decided() const {
    for (const ir::ClassTable& t : p_.tables) {
      if (!t.access[static_cast<size_t>(Op::kWrite)].empty() || !t.hidden.empty()) return true;
    }
    return false;
  }

  std::vector<uint32_t> listing_rules(const ProgramSet& set) const {
    std::vector<uint32_t> out;
    if (!(set.types & kDir)) return out;
    for (uint32_t child : p_.classes[set.cls].children) {
      for (const Entry& e : table(child).hidden) out.push_back(e.rule);
      for (const Entry& e : table(child).names) out.push_back(e.rule);
    }
    return out;
  }

  // Handlers, attribute rewrites and audit records are the daemon's.
  void place_other_layers(uint32_t s, Callback cb, uint32_t opcode, uint64_t atoms, Filters& fs) {
    const ProgramSet& set = plan_.sets[s];
    const ir::ClassTable& t = table(set.cls);
    ir::OpSet ops = atoms < kNoAtoms ? static_cast<ir::OpSet>(atoms) : 0;
    for (const ArgAtom& a : kArgAtoms) {
      if (a.opcode == opcode) ops |= ir::bit(a.atom);
    }
    if (atoms == kByName || fs.pre.by_name) return;  // on the child: its own set decides later
    std::vector<uint32_t> handlers, audits;
    for (size_t op = 0; op < ir::kOpCount; ++op) {
      if (!(ops & ir::bit(static_cast<Op>(op)))) continue;
      for (const Entry& e : t.handler[op]) if (applies(e, set.types)) handlers.push_back(e.rule);
      for (const Entry& e : t.audit[op]) if (applies(e, set.types)) audits.push_back(e.rule);
    }
    if (!handlers.empty()) {
      to_daemon(fs.pre, "served by a userspace handler", handlers);
      fs.pre.daemon_result = kUser;
      return;
    }
    if (!audits.empty()) {
      to_daemon(fs.post, "audit records are written by the daemon", audits);
      ask_post(fs, kUserPostfilter);
      return;
    }
    if (cb != Callback::getattr && cb != Callback::setattr) return;
    fs.post.node.attr = attr_tests(set.cls, set.types);
    settle(fs.post);
    if (fs.post.where == Where::kNone) return;
    ask_post(fs, fs.post.where == Where::kDaemon ? kUserPostfilter : kPostfilter);
  }

  // The prefilter asks for the postfilter. After a daemon prefilter the
  // kernel runs none: the daemon then serves the whole request.
  static void ask_post(Filters& fs, int then) {
    if (fs.pre.where == Where::kDaemon) {
      fs.pre.daemon_result = kUser;
      return;
    }
    fs.pre.where = Where::kKernel;
    fs.pre.node.then = then;
  }

  void plan_lookup_pre(uint32_t s, Filter& f) {
    const ProgramSet& set = plan_.sets[s];
    f.by_name = true;
    if (!(set.types & kDir) || hides_children(set)) return;
    if (!p_.casefold_roots.empty()) {
      to_daemon(f, "case-insensitive lookups run in the daemon", casefold_rules());
      return;
    }
    std::vector<uint32_t> above = child_hidden_above(set);
    std::vector<uint32_t> placed, typed_names, names;
    for (uint32_t child : p_.classes[set.cls].children) {
      const ir::ClassTable& t = table(child);
      for (const Entry& e : t.placement) placed.push_back(e.rule);
      for (const Entry& e : t.names) names.push_back(e.rule);
      // A map for some types only gives a name one lower name per type,
      // which the prefilter cannot know yet.
      if (!t.names.empty() && t.names.front().types != 0)
        typed_names.push_back(t.names.front().rule);
    }
    if (!placed.empty()) {
      placed.insert(placed.end(), names.begin(), names.end());
      to_daemon(f, "name maps and redirects choose the lower name in the daemon", placed);
      return;
    }
    if (!names.empty() && !profile_.view_names) {
      to_daemon(f,
                "name maps choose the lower name in the daemon (" + std::string(profile_.name) +
                    ": a lookup postfilter would see the lower name)",
                names);
      return;
    }
    if (!typed_names.empty()) {
      to_daemon(f, "name maps that depend on the file type choose the lower name in the daemon",
                typed_names);
      return;
    }
    for (uint32_t child : p_.classes[set.cls].children) {
      Decision d;
      d.chains.push_back(hidden_chain(above, child, kAllTypes, ENOENT, /*untyped_only=*/true));
      Filter::Child c{child, 0, std::move(d), std::nullopt};
      if (!table(child).names.empty()) c.name_map = table(child).names.front().rule;
      f.children.push_back(std::move(c));
    }
    settle(f);
  }

  // The kernel makes, renames and links names under the view's spelling:
  // in a directory whose lookups map names, the daemon does (under the
  // lower names) and the kernel's next lookup backs the node. Unlinks and
  // rmdirs remove the lower object the lookup found.
  void daemon_makes_mapped_names(ProgramSet& set, const Filter& lookup) {
    static constexpr Callback kMakes[] = {
        Callback::create_open, Callback::mknod,   Callback::mkdir, Callback::symlink,
        Callback::rename,      Callback::rename2, Callback::link};
    std::vector<uint32_t> rules;
    for (const Filter::Child& c : lookup.children) {
      if (c.name_map) rules.push_back(*c.name_map);
    }
    std::sort(rules.begin(), rules.end());
    rules.erase(std::unique(rules.begin(), rules.end()), rules.end());
    for (Callback cb : kMakes) {
      Filters& fs = set.filters[static_cast<size_t>(cb)];
      fs.post = Filter{};
      fs.pre = Filter{};
      to_daemon(fs.pre, "names here are mapped: the daemon makes them under their lower names",
                rules);
      fs.pre.daemon_result = kUser;
    }
  }

  std::vector<uint32_t> casefold_rules() const {
    std::vector<uint32_t> out;
    for (const ir::Rule& r : p_.rules) {
      if (r.kind == RuleKind::kCasefold) out.push_back(r.id);
    }
    return out;
  }

  // The decision of a by-name filter for children of class `cls` (a new
  // one that lets them pass, if it has none).
  static Filter::Child& child_of(Filter& f, uint32_t cls) {
    auto it = std::find_if(f.children.begin(), f.children.end(),
                           [&](const Filter::Child& c) { return c.cls == cls; });
    if (it != f.children.end()) return *it;
    f.children.push_back(Filter::Child{cls, 0, Decision{}, std::nullopt});
    return f.children.back();
  }

  // After the passthrough marks: the postfilter that checks what needs
  // the type and attaches each child's set.
  // Until kernel_listing says why not BPF.
  static constexpr std::string_view kListingReason = "listings filtered by the daemon";

  // A listing shows the entries a lookup by the same caller finds (with
  // their type): where the set's lookup filters decide every child in
  // BPF and no child is renamed, the BPF readdir postfilter drops the
  // others by running them. Typed lookups need the lookup postfilter.
  void kernel_listing(uint32_t s) {
    ProgramSet& set = plan_.sets[s];
    Filters& rd = set.filters[static_cast<size_t>(Callback::readdir)];
    if (rd.post.where != Where::kDaemon || rd.post.reason != kListingReason) return;
    if (rd.pre.where == Where::kDaemon) {
      rd.post.reason = "the daemon serves this directory's listings (" + rd.pre.reason + ")";
      return;
    }
    for (uint32_t child : p_.classes[set.cls].children) {
      if (!table(child).names.empty()) {
        rd.post.reason = "renamed children: the daemon maps their names in listings";
        return;
      }
    }
    const Filters& lookup = set.filters[static_cast<size_t>(Callback::lookup)];
    // The listing runs these filters: without one in BPF it would drop
    // nothing, so it stays the daemon's.
    if (lookup.pre.where != Where::kKernel && lookup.post.where != Where::kKernel) return;
    for (const Filter* f : {&lookup.pre, &lookup.post}) {
      if (f->where == Where::kDaemon) {
        rd.post.reason = "the daemon decides this directory's lookups (" + f->reason +
                         "), so it filters its listings";
        return;
      }
      for (const Filter::Child& c : f->children) {
        if (c.decision.then == kUser || c.decision.then == kUserPrefilter) {
          rd.post.reason = "the daemon decides some children's lookups (" + c.decision.then_reason +
                           "), so it filters the listings";
          return;
        }
      }
    }
    rd.post = Filter{};
    rd.post.where = Where::kKernel;
    rd.post.lists = true;
    if (rd.pre.node.then == kUserPostfilter) rd.pre.node.then = kPostfilter;
  }

  void plan_lookup_post(uint32_t s) {
    ProgramSet& set = plan_.sets[s];
    Filters& fs = set.filters[static_cast<size_t>(Callback::lookup)];
    // After a daemon prefilter no postfilter runs: the child would keep
    // this set and the daemon would never learn it. The daemon serves the
    // whole lookup, and the child is its node (served by it, as in daemon
    // mode).
    if (fs.pre.where == Where::kDaemon) {
      fs.pre.daemon_result = kUser;
      daemon_names(set, fs.pre);
      return;
    }
    if (maps_names(fs.pre)) daemon_makes_mapped_names(set, fs.pre);
    if (set.passthrough) return;
    if (!(set.types & kDir) || hides_children(set)) return;
    Filter& f = fs.post;
    f.by_name = true;
    std::vector<uint32_t> above = child_hidden_above(set);
    for (uint32_t child : p_.classes[set.cls].children) {
      for (uint8_t group : type_groups(table(child))) {
        Decision d;
        d.chains.push_back(hidden_chain({}, child, group, ENOENT));
        d.chains.push_back(access_chain(child, Op::kLookup, group));
        d.attr = attr_tests(child, group);
        drop_empty(d);
        if (!always_hidden(child, group)) {
          uint32_t target = index_.at(Key{child, above, group});
          if (target != s) d.child_set = static_cast<int32_t>(target);
        }
        f.children.push_back(Filter::Child{child, group, std::move(d), std::nullopt});
      }
    }
    std::vector<uint32_t> rules;
    bool any = false;
    std::map<uint32_t, bool> needs;  // per child class: whether the postfilter must run
    for (const Filter::Child& c : f.children) {
      auto r = unplaceable(c.decision);
      rules.insert(rules.end(), r.begin(), r.end());
      bool need = decides(c.decision) || c.decision.child_set >= 0;
      needs[c.cls] = needs[c.cls] || need;
      any = any || need;
    }
    if (!rules.empty()) {
      // A daemon postfilter cannot attach the children's sets: the daemon
      // serves the lookups, and their nodes are its own.
      f = Filter{};
      to_daemon(fs.pre, condition_reason(rules), rules);
      fs.pre.daemon_result = kUser;
      return;
    } else if (!any) {
      f = Filter{};
      return;
    } else {
      f.where = Where::kKernel;
    }
    // The prefilter asks for this postfilter for the children that need it.
    Filter& pre = fs.pre;
    pre.by_name = true;
    for (auto [cls, need] : needs) {
      if (!need) continue;
      int then = f.where == Where::kDaemon ? kUserPostfilter : kPostfilter;
      child_of(pre, cls).decision.then = then;
    }
    std::sort(pre.children.begin(), pre.children.end(),
              [](const Filter::Child& a, const Filter::Child& b) { return a.cls < b.cls; });
    if (pre.where == Where::kNone && !pre.children.empty()) pre.where = Where::kKernel;
  }

  // A set whose filters are all absent, and whose descendants' are.
  void mark_passthrough() {
    std::vector<bool> quiet(plan_.sets.size());
    for (uint32_t s = 0; s < plan_.sets.size(); ++s) {
      bool q = true;
      for (const Filters& fs : plan_.sets[s].filters) {
        q = q && fs.pre.where == Where::kNone && fs.post.where == Where::kNone;
      }
      quiet[s] = q;
    }
    bool changed = true;
    while (changed) {
      changed = false;
      for (uint32_t s = 0; s < plan_.sets.size(); ++s) {
        if (!quiet[s]) continue;
        for (uint32_t c : plan_.sets[s].children) {
          if (!quiet[c]) {
            quiet[s] = false;
            changed = true;
            break;
          }
        }
      }
    }
    for (uint32_t s = 0; s < plan_.sets.size(); ++s) plan_.sets[s].passthrough = quiet[s];
  }

  // Sets with a daemon filter, and their ancestors: the daemon must know
  // these nodes, so their lookups reach its postfilter.
  void mark_tracked() {
    // Requests that name the node they are on (a file too) need every
    // node known; a directory's requests (lookups, listings, making names)
    // need directories, and so do renames, links and copies (their other
    // nodes may be unknown: EXDEV).
    std::vector<bool> files(plan_.sets.size());
    for (uint32_t s = 0; s < plan_.sets.size(); ++s) {
      ProgramSet& set = plan_.sets[s];
      for (size_t i = 0; i < kCallbackCount; ++i) {
        const Filters& fs = set.filters[i];
        bool daemon = fs.pre.where == Where::kDaemon || fs.post.where == Where::kDaemon ||
                      daemon_then(fs.pre);
        auto cb = static_cast<Callback>(i);
        if (!daemon || (!(set.types & kDir) && on_directories(cb))) continue;
        set.tracked = true;
        files[s] = files[s] || !(on_directories(cb) || cb == Callback::copy_file_range);
      }
    }
    bool changed = true;
    while (changed) {
      changed = false;
      for (ProgramSet& set : plan_.sets) {
        if (set.tracked) continue;
        for (uint32_t c : set.children) {
          if (plan_.sets[c].tracked) {
            set.tracked = changed = true;
            break;
          }
        }
      }
    }
    for (uint32_t s = 0; s < plan_.sets.size(); ++s) {
      plan_.sets[s].tracked_dirs_only = plan_.sets[s].tracked && !files[s];
    }
  }

  // The daemon learns a tracked node when it is looked up: the lookup of
  // a child whose set is tracked ends with the daemon's postfilter (the
  // BPF postfilter returns USER_POSTFILTER for it, or the prefilter asks
  // for the daemon's directly).
  void route_tracked_lookups(uint32_t s) {
    ProgramSet& set = plan_.sets[s];
    Filters& fs = set.filters[static_cast<size_t>(Callback::lookup)];
    if (fs.pre.where == Where::kDaemon || set.passthrough || !(set.types & kDir) ||
        hides_children(set)) {
      return;
    }
    std::vector<uint32_t> above = child_hidden_above(set);
    Filter& pre = fs.pre;
    for (uint32_t child : p_.classes[set.cls].children) {
      bool tracked = false, every_type = false;
      for (uint8_t group : type_groups(table(child))) {
        if (always_hidden(child, group)) continue;
        const ProgramSet& target = plan_.sets[index_.at(Key{child, above, group})];
        tracked = tracked || target.tracked;
        every_type = every_type || (target.tracked && !target.tracked_dirs_only);
      }
      if (!tracked) continue;
      // Directories only: the BPF postfilter, which sees the type, asks.
      if (!every_type && fs.post.where != Where::kKernel) {
        fs.post = Filter{};
        fs.post.where = Where::kKernel;
        fs.post.by_name = true;
      }
      Decision& d = child_of(pre, child).decision;
      if (d.then == kContinue)
        d.then = fs.post.where == Where::kKernel ? kPostfilter : kUserPostfilter;
    }
    std::sort(pre.children.begin(), pre.children.end(),
              [](const Filter::Child& a, const Filter::Child& b) { return a.cls < b.cls; });
    pre.by_name = true;
    if (pre.where == Where::kNone && !pre.children.empty()) pre.where = Where::kKernel;
  }

  // A node the kernel makes must get its set and, where the plan says, be
  // learnt by the daemon. On a profile with made_sets the kernel runs the
  // directory's lookup filters on it as on a looked-up name: the daemon
  // makes only names whose lookups it serves (the lookup filters could
  // not run on them). Otherwise a made node keeps its directory's set and
  // the daemon never learns it (no lookup happens): where the new node
  // must be known (its set is tracked, for its type), the daemon makes the
  // name (and then has the kernel forget the node, so that the next lookup
  // backs it and the daemon's postfilter learns it).
  void route_tracked_creates(uint32_t s) {
    ProgramSet& set = plan_.sets[s];
    if (set.passthrough || !(set.types & kDir) || hides_children(set)) return;
    std::vector<uint32_t> above = child_hidden_above(set);
    static constexpr std::pair<Callback, uint8_t> kMakes[] = {
        {Callback::create_open, syntax::kTypeFile},
        {Callback::mknod, kMknodTypes},
        {Callback::mkdir, kDir},
        {Callback::symlink, syntax::kTypeSymlink}};
    // Whether the daemon must make a name of class `child` of `types`.
    auto by_daemon = [&](uint32_t child, uint8_t types) {
      if (profile_.made_sets) return lookup_by_daemon(set, child);
      for (int b = 0; b < 7; ++b) {
        auto type = static_cast<uint8_t>(1u << b);
        if (!(types & type) || always_hidden(child, type)) continue;
        const ProgramSet& target = plan_.sets[index_.at(state_key(child, above, type))];
        if (target.tracked && (!target.tracked_dirs_only || type == kDir)) return true;
      }
      return false;
    };
    for (auto [cb, types] : kMakes) {
      Filter& f = set.filters[static_cast<size_t>(cb)].pre;
      if (f.where == Where::kDaemon) {
        bool any = !profile_.made_sets && set.tracked;
        for (uint32_t child : p_.classes[set.cls].children) {
          any = any || (profile_.made_sets && by_daemon(child, types));
        }
        if (any) f.daemon_result = kUser;
        continue;
      }
      for (uint32_t child : p_.classes[set.cls].children) {
        if (!by_daemon(child, types)) continue;
        Decision& d = child_of(f, child).decision;
        if (d.then == kContinue) {
          d.then = kUser;
          d.then_reason = profile_.made_sets
                              ? "the daemon serves lookups of '" + p_.classes[child].example +
                                    "', so it makes the name"
                              : "the daemon must know the new node of '" +
                                    p_.classes[child].example + "', so it makes it";
        }
      }
      std::sort(f.children.begin(), f.children.end(),
                [](const Filter::Child& a, const Filter::Child& b) { return a.cls < b.cls; });
      f.by_name = true;
      if (f.where == Where::kNone && !f.children.empty()) f.where = Where::kKernel;
    }
  }

  // Whether a lookup of a name of class `child` in `set` is the daemon's
  // whole (BPF_FUSE_USER): its filters cannot run on a node the kernel made.
  static bool lookup_by_daemon(const ProgramSet& set, uint32_t child) {
    const Filter& lookup = set.filters[static_cast<size_t>(Callback::lookup)].pre;
    if (lookup.where == Where::kDaemon) return lookup.daemon_result == kUser;
    if (!lookup.by_name) return lookup.node.then == kUser;
    for (const Filter::Child& c : lookup.children) {
      if (c.cls == child) return c.decision.then == kUser;
    }
    return false;
  }

  // Callbacks only a directory's requests call.
  static bool on_directories(Callback cb) {
    switch (cb) {
      case Callback::lookup:
      case Callback::create_open:
      case Callback::mknod:
      case Callback::mkdir:
      case Callback::symlink:
      case Callback::unlink:
      case Callback::rmdir:
      case Callback::rename:
      case Callback::rename2:
      case Callback::link:
      case Callback::readdir:
      case Callback::opendir:
      case Callback::releasedir:
      case Callback::dir_fsync:
        return true;
      default:
        return false;
    }
  }

  static bool daemon_then(const Filter& f) {
    if (f.node.then == kUser) return true;
    for (const Filter::Child& c : f.children) {
      if (c.decision.then == kUser) return true;
    }
    return false;
  }

  // fcntl locks on a backed file are the kernel's own: no filter sees them.
  void find_problems() {
    constexpr ir::OpSet kOpens = ir::bit(Op::kRead) | ir::bit(Op::kWrite);
    for (const ir::Rule& r : p_.rules) {
      if (r.kind != RuleKind::kDeny || !(r.ops & ir::bit(Op::kLock))) continue;
      if ((r.ops & kOpens) == kOpens) continue;
      plan_.problems.push_back(
          {r.id, "fuse-bpf cannot deny 'lock' alone: fcntl locks are kept by the kernel, so only "
                 "a rule that also denies read and write (the opens) keeps a caller from locking"});
    }
  }

  const ir::Policy& p_;
  const ProfileInfo& profile_;
  Plan plan_;
  std::map<Key, uint32_t> index_;
  std::vector<uint32_t> queue_;
};

}  // namespace

bool maps_names(const Filter& f) {
  return std::any_of(f.children.begin(), f.children.end(),
                     [](const Filter::Child& c) { return c.name_map.has_value(); });
}

const ProfileInfo& profile_info(Profile profile) { return kProfiles[static_cast<size_t>(profile)]; }

std::optional<Profile> profile_from_name(std::string_view name) {
  for (size_t i = 0; i < std::size(kProfiles); ++i) {
    if (kProfiles[i].name == name) return static_cast<Profile>(i);
  }
  return std::nullopt;
}

std::string profile_names() {
  std::string out;
  for (const ProfileInfo& p : kProfiles) out += (out.empty() ? "" : ", ") + std::string(p.name);
  return out;
}

std::string_view callback_name(Callback cb) { return kCallbacks[static_cast<size_t>(cb)].name; }
uint32_t callback_opcode(Callback cb) { return kCallbacks[static_cast<size_t>(cb)].opcode; }

std::string_view where_name(Where where) {
  switch (where) {
    case Where::kNone: return "none";
    case Where::kKernel: return "kernel";
    case Where::kDaemon: return "daemon";
  }
  return "?";
}

Plan make_plan(const ir::Policy& policy, Profile profile) { return Planner(policy, profile).run(); }

bool needs_daemon(const Plan& plan) {
  auto asks_daemon = [](const Decision& d) {
    return d.then == kUser || d.then == kUserPrefilter || d.then == kUserPostfilter;
  };
  for (const ProgramSet& set : plan.sets) {
    if (set.passthrough) continue;
    if (set.tracked) return true;
    for (const Filters& fs : set.filters) {
      for (const Filter* f : {&fs.pre, &fs.post}) {
        if (f->where == Where::kDaemon || asks_daemon(f->node)) return true;
        for (const Filter::Child& c : f->children) {
          if (asks_daemon(c.decision)) return true;
        }
      }
    }
  }
  return false;
}

uint64_t policy_digest(const ir::Policy& policy, Profile profile) {
  // FNV-1a, 64 bits: a check that an object belongs to a policy, not a
  // defence against someone forging objects (who could load their own).
  uint64_t hash = 14695981039346656037ull;
  auto mix = [&](std::string_view bytes) {
    for (char c : bytes) hash = (hash ^ static_cast<uint8_t>(c)) * 1099511628211ull;
  };
  // Where the sources were (a stdlib installed elsewhere, a checkout in
  // another directory) does not change what the programs decide.
  ir::Policy located = policy;
  for (ir::Rule& r : located.rules) {
    r.where.file.clear();
    for (ir::SourceRef& v : r.via) v.file.clear();
  }
  for (ir::Selector& s : located.selectors) s.where.file.clear();
  mix(ir::encode(located));
  mix(profile_info(profile).name);
  return hash;
}

std::string name_into(const ir::Policy& policy, uint32_t from, uint32_t to) {
  const automata::Dfa& dfa = policy.dfa;
  // One byte per input class, readable where the class allows.
  std::vector<int> byte_of(dfa.class_count, -1);
  for (int pass = 0; pass < 2; ++pass) {
    for (int b = 1; b < 256; ++b) {
      if (b == '/') continue;
      bool nice = (b >= 'a' && b <= 'z') || (b >= '0' && b <= '9') || b == '_';
      if (pass == 0 && !nice) continue;
      int& slot = byte_of[dfa.byte_class[static_cast<size_t>(b)]];
      if (slot < 0) slot = b;
    }
  }
  auto reaches = [&](uint32_t state) {
    int32_t cls = policy.class_of_state[dfa.step(state, '/')];
    return static_cast<uint32_t>(cls >= 0 ? cls : static_cast<int32_t>(from)) == to;
  };
  // Breadth first over states inside a component.
  std::vector<std::string> seen(dfa.state_count());
  std::vector<bool> visited(dfa.state_count());
  std::vector<uint32_t> queue{policy.classes[from].state};
  visited[queue[0]] = true;
  for (size_t i = 0; i < queue.size(); ++i) {
    uint32_t state = queue[i];
    for (uint32_t c = 0; c < dfa.class_count; ++c) {
      if (byte_of[c] < 0) continue;
      uint32_t next = dfa.next[size_t{state} * dfa.class_count + c];
      std::string name = seen[state] + static_cast<char>(byte_of[c]);
      if (name != "." && name != ".." && reaches(next)) return name;
      if (visited[next] || name.size() >= 255) continue;
      visited[next] = true;
      seen[next] = name;
      queue.push_back(next);
    }
  }
  return "";
}

}  // namespace fspol::plan
