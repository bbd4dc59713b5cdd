#pragma once
// Per-class decision tables: the policy's meaning (docs/semantics.md)
// partially evaluated per path class, computed once.
//
// For every path class, every layer keeps the rules that can decide a
// request there, in resolution order, each with the file types and the
// caller condition under which it applies; first-match lists end at the
// first entry that always applies. Whatever executes or prints a policy
// reads these tables: ir_eval (the reference evaluator), the IR printer,
// verification, `fsc explain`, the planner and code generators, and the
// runtime's engine. Nothing else decides what a rule does.
//
//   policy p { hide dir "/a"; deny write on "/c" errno EPERM when uid != 0; }
//   class of "/c": access[write] = [rule 1 (when uid != 0)]   -> else allowed
//   class of "/a": hidden = [rule 0, dir]                     -> ENOENT, and
//                  ENOENT for everything below it (walk the ancestors)
//
//   const ClassTable& t = tables[cls];
//   const Entry* e = first(t.access[op_index], type, [&](const Rule& r) { return holds(r); });

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "ir/ir.h"

namespace fspol::ir {

// The tables of every class of `policy` (indexed by class); run_lower
// stores them in Policy::tables.
std::vector<ClassTable> decide(const Policy& policy);


// The operation a request is checked as on the name it makes (rename's
// target, link's new name): link creates a name; rename is rename on both.
inline Op destination_op(Op op) { return op == Op::kLink ? Op::kCreate : op; }

// Case folding (casefold rules): ASCII only, so that it is the same in
// every locale and on every byte string.
inline char fold_case(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
inline std::string folded(std::string_view name) {
  std::string out(name);
  for (char& c : out) c = fold_case(c);
  return out;
}
inline bool equal_folded(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (fold_case(a[i]) != fold_case(b[i])) return false;
  }
  return true;
}

// A rename rule's maps: the lower name of a view name, and back (the
// first suffix map and the first prefix map that fit apply).
std::string lower_name(const Rule& rename_rule, std::string_view view);
std::string view_name(const Rule& rename_rule, std::string_view lower);

// Where a redirect rule serves a path from, inside its target root: its
// target path, then the path's lower names below the rule's literal prefix
// (the longest leading literal components of its selectors that the path
// starts with). `view` and `lower`: the path's view and lower names, from
// the root down to the component where the rule first matches.
std::vector<std::string> redirect_target(const Policy& policy, const Rule& rule,
                                         const std::vector<std::string>& view,
                                         const std::vector<std::string>& lower);

// An attr rule's rewrite of one field: the mode keeps its file-type bits;
// an id shifted out of range shows as the overflow id 65534, as the
// kernel shows unmapped ids; ids outside a map stay.
uint32_t rewrite_mode(const ModeRewrite& rewrite, uint32_t mode);
uint32_t rewrite_id(const IdRewrite& rewrite, uint32_t id);

// The other way, for chown through the view: the lower id that shows as
// `view_id`; kKeepLowerId when every lower id shows as it (a set), so
// the lower id stays; kNoLowerId when none does.
inline constexpr int64_t kKeepLowerId = -1;
inline constexpr int64_t kNoLowerId = -2;
int64_t lower_id(const IdRewrite& rewrite, uint32_t view_id);

// The first entry of `list` for a file of `type` whose rule `holds`
// (called only for conditional entries), or nullptr.
template <typename Holds>
const Entry* first(const std::vector<Entry>& list, uint8_t type, Holds&& holds) {
  for (const Entry& e : list) {
    if (e.types != 0 && !(e.types & type)) continue;
    if (e.conditional && !holds(e.rule)) continue;
    return &e;
  }
  return nullptr;
}

}  // namespace fspol::ir
