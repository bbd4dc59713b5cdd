#pragma once
// The plan: where each decision of a policy runs on a fuse-bpf kernel.
//
// A fuse-bpf filter sees one node (or a directory and one name), never a
// path. The plan gives every node state the runtime's engine tracks (the
// path class, the caller-dependent directory hides of its ancestors, and
// the group of file types the class's rules tell apart) a ProgramSet: its
// filters; the lookup postfilter of a directory attaches the child's state
// (with profile node_states, one registered fuse_ops set serves every
// state and the kernel keeps the state per node; else each state is a
// fuse_ops set of its own). For every state and callback it decides, from the
// per-class decision tables (ir/decide.h) and nothing else, whether the
// filter is absent, runs in BPF (its first-match chains, to be printed by
// codegen), or hands the request to the daemon, and why. The target
// profile says what BPF may call; nothing moves to the daemon without a
// reason in the plan.
//
//   auto plan = plan::make_plan(policy, plan::Profile::kFspol61);
//   for (const plan::ProgramSet& set : plan.sets) ... set.filters[cb].pre ...

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ir/ir.h"

namespace fspol::plan {

enum class Profile : uint8_t {
#define FSPOL_PROFILE(id, name, uid_gid, comm, made_sets, view_names, node_states, summary) id,
#include "plan/profiles.def"
};
struct ProfileInfo {
  std::string_view name;
  bool uid_gid;
  bool comm;
  bool made_sets;
  bool view_names;
  bool node_states;
  std::string_view summary;
};
const ProfileInfo& profile_info(Profile profile);
std::optional<Profile> profile_from_name(std::string_view name);
std::string profile_names();  // "rfc-v3, fspol-6.1"

// The fuse_ops callbacks, in struct order (kernel/include/fuse_bpf_ops.def).
enum class Callback : uint8_t {
#define FUSE_BPF_OP(name, opcode, pre, post) name,
#include "fuse_bpf_ops.def"
};
inline constexpr size_t kCallbackCount = 32;
std::string_view callback_name(Callback cb);
uint32_t callback_opcode(Callback cb);

// Filter return codes (fuse_bpf_abi.h).
inline constexpr int kContinue = 0;
inline constexpr int kUser = 1;
inline constexpr int kUserPrefilter = 2;
inline constexpr int kPostfilter = 3;
inline constexpr int kUserPostfilter = 4;

// One test of a first-match chain: when the rule's condition holds (or
// always), the chain is decided: `error` (an errno) ends the request, 0
// lets this chain pass.
struct Test {
  uint32_t rule = 0;
  bool conditional = false;
  int error = 0;
  bool operator==(const Test&) const = default;
};

// A first-match list of the decision tables, resolved for one node state.
struct Chain {
  std::string what;       // "hidden", "access write", ...
  int arg_atom = -1;      // the arg_atoms.def row that must hold first; -1: none
  std::vector<Test> tests;
  bool operator==(const Chain&) const = default;
};

// What a filter decides for nodes of one class (a by-name filter: for the
// child its name leads to).
struct Decision {
  std::vector<Chain> chains;  // in order; the first errno ends the request
  // Per field, the attr rules (first match): a postfilter rewrites the
  // attributes it answers with them; the setattr prefilter maps the uid
  // and gid a chown asks for back to the lower ids (ir::lower_id).
  std::array<std::vector<Test>, ir::kAttrFieldCount> attr;
  int then = kContinue;       // the result when none does
  std::string then_reason;    // why, when `then` hands the request to the daemon
  int32_t child_set = -1;     // lookup postfilter: the child's set; -1: the parent's
  bool operator==(const Decision&) const = default;
};

enum class Where : uint8_t { kNone, kKernel, kDaemon };
std::string_view where_name(Where where);

struct Filter {
  Where where = Where::kNone;
  std::string reason;           // kDaemon: why not in BPF
  // kDaemon prefilter: kUserPrefilter (the daemon decides, then the
  // kernel goes ahead) or kUser (the daemon serves the whole request).
  int daemon_result = kUserPrefilter;
  std::vector<uint32_t> rules;  // kDaemon: the rules that need the daemon
  bool by_name = false;         // decided on the child class of the name
  // The readdir postfilter: drops the entries a lookup would refuse (the
  // set's own lookup filters decide each, by name and type).
  bool lists = false;
  Decision node;                // !by_name
  // by_name: per child class (the lookup postfilter: per child class and
  // the child's type group, in `child_types`).
  struct Child {
    uint32_t cls = 0;
    uint8_t types = 0;  // lookup postfilter: the child's file types; else 0
    Decision decision;
    // Lookup prefilter: the rename rule whose maps give the lower name the
    // kernel looks up (the view name is the child's: profile view_names).
    std::optional<uint32_t> name_map;
  };
  std::vector<Child> children;
};

struct Filters {
  Filter pre;
  Filter post;
};

// A node state with its program set.
struct ProgramSet {
  uint32_t cls = 0;
  std::vector<uint32_t> hidden_above;  // conditional directory hides of ancestors (rule ids)
  uint8_t types = 0;                   // the file types of its nodes
  // The registered name (at most 14 characters). On a profile with
  // node_states every set with programs has set 0's: one program set, the
  // node's state (the set's index) picks the decisions.
  std::string name;
  std::string example;                 // a path whose node is in this state
  // No filter here nor in any set below it: its nodes drop the program
  // set (FUSE_ENTRY_REMOVE_BPF) and run as plain fuse-bpf passthrough.
  bool passthrough = false;
  // Its nodes must be known to the daemon (some request of theirs or
  // below reaches it): lookups of them go through the daemon's postfilter.
  bool tracked = false;
  // ... but only its directories: what reaches the daemon is a
  // directory's request (a lookup, a listing, a name made), a rename or
  // link in them (or below them), or a copy_file_range from them, which
  // the daemon refuses as EXDEV (a fallback for mv, ln and cp) where it
  // does not know a file.
  bool tracked_dirs_only = false;
  std::array<Filters, kCallbackCount> filters;
  std::vector<uint32_t> children;  // the sets its lookups attach (sorted, unique)
};

struct Plan {
  Profile profile = Profile::kFspol61;
  std::vector<ProgramSet> sets;  // set 0 is the root's
  // Decisions no executor can make on this target, with the rule: the
  // compile fails on them.
  struct Problem {
    uint32_t rule = 0;
    std::string message;
  };
  std::vector<Problem> problems;
};

// Whether a by-name filter (a lookup prefilter) maps some child's name to
// its lower name (Filter::Child::name_map).
bool maps_names(const Filter& f);

// Whether any request of a view planned so can reach the daemon: a filter
// placed there, a BPF filter that hands a request to it (BPF_FUSE_USER,
// _USER_PREFILTER, _USER_POSTFILTER) or a node it must know. Without one,
// fsrun mounts with no_daemon (docs/runtime.md, "fuse-bpf mode").
bool needs_daemon(const Plan& plan);

// A short name that leads from a directory of class `from` to a child of
// class `to` ("" when none does; never "." or "..").
std::string name_into(const ir::Policy& policy, uint32_t from, uint32_t to);

// Plans `policy` for `profile`. Deterministic.
Plan make_plan(const ir::Policy& policy, Profile profile);

// What identifies the programs of `policy` for `profile`: a 64-bit hash of
// the encoded IR (ir/codec.h) and the profile's name. fsc writes it into
// every fuse_ops object (`fsp_policy_digest`); fsrun loads an object only
// when it is the digest of the policy it serves.
uint64_t policy_digest(const ir::Policy& policy, Profile profile);

// `fsc compile --emit=plan`: every set, every filter, every daemon
// placement with its reason; text or JSON.
std::string print_plan(const ir::Policy& policy, const Plan& plan);
std::string print_plan_json(const ir::Policy& policy, const Plan& plan);

}  // namespace fspol::plan
