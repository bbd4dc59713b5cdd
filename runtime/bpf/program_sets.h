#pragma once
// fuse-bpf mode: what the running kernel offers, and a policy's fuse_ops
// program sets registered in it for one mount.
//
// fsc compiles a policy into one object with one program set for every
// node state (profile fspol-6.1) or a set per state (rfc-v3; docs/bpf.md),
// each registered under a name of at most 14 characters in
// the kernel's one global table. Two mounts of the same policy must not
// share names (unmounting one would pull the sets from under the other),
// so each mount renames the sets before it registers them: the object's
// names are "fspXXXX_<n>", a mount's "f<6 hex digits>_<n>", the same
// length, written into the struct_ops values and the table the lookup
// postfilters attach children from. The sets stay registered while the
// ProgramSets lives; a state file records them so that `fsrun umount`
// can unregister what a killed daemon left behind.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fspol/result.h"

struct bpf_object;
struct bpf_link;

namespace fspol::runtime {

// What the running kernel offers (kernel/README.md, "Extension").
struct FuseBpfSupport {
  bool present = false;
  std::string profile;  // the fsc target profile it matches: fspol-6.1 or rfc-v3
  bool no_daemon = false;  // mounts without a daemon (the no_daemon option)
  bool assign = false;     // gives the nodes it holds other sets (fsrun reload)
  std::string why;      // when absent: why not, for messages
};
FuseBpfSupport probe_fuse_bpf();

class ProgramSets {
 public:
  // Checks that `object` (an fsc-compiled fuse_ops object) was compiled
  // from the policy whose digest is `digest` (plan::policy_digest) and
  // holds the sets of the plan that are not plain passthrough
  // (`passthrough[i]` for set i; with `node_states`, the profile's, one set
  // serves them all), renames them for this mount, loads the object (the
  // kernel verifies every program) and registers every set.
  // The names go to `state_file` (when not empty) until the sets are
  // unregistered.
  static Result<std::unique_ptr<ProgramSets>> load(std::string_view object, uint64_t digest,
                                                   const std::vector<bool>& passthrough,
                                                   bool node_states, const std::string& state_file);
  ~ProgramSets();
  ProgramSets(const ProgramSets&) = delete;
  ProgramSets& operator=(const ProgramSets&) = delete;

  // The registered names, by the plan's set index ("" for a passthrough
  // set: none registered; with node_states, every other one is set 0's).
  // Set 0 is the root's.
  const std::vector<std::string>& names() const { return names_; }

  // A reload: `other` stays registered as long as these sets (nodes may
  // run either), and the state file records both.
  void keep(std::unique_ptr<ProgramSets> other);
  // Records the sets in `state_file` instead of the file load() wrote.
  void take_state_file(const std::string& state_file);

 private:
  ProgramSets() = default;
  bpf_object* obj_ = nullptr;
  std::vector<bpf_link*> links_;
  std::vector<std::string> names_;
  std::string records_;  // "map-id name" lines, for the state file
  std::string state_file_;
  std::vector<std::unique_ptr<ProgramSets>> kept_;
};

// Unregisters the sets `state_file` records (a daemon that died without
// unregistering them) and removes the file. Returns how many it removed.
size_t unregister_stale_sets(const std::string& state_file);

}  // namespace fspol::runtime
