#pragma once
// The policy's one DFA over path bytes: subset construction from the NFA,
// then Hopcroft minimisation, then a canonical numbering (breadth-first
// from the start state, classes in byte order), so the same policy always
// yields the same automaton.
//
// Matching a path costs one table step per byte, whatever the number of
// rules. Accepting states carry the sorted list of globs that match.
//
// Path classes are the states reachable at component boundaries (after
// "", "a/", "a/b/", ...): every path of a class has the same matching
// globs and the same future, so the kernel keeps one program set per class
// and the runtime one decision table per class.

#include <array>
#include <functional>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "automata/nfa.h"

namespace fspol::automata {

struct Dfa {
  std::array<uint8_t, 256> byte_class{};  // byte -> input class
  uint32_t class_count = 0;
  uint32_t start = 0;
  std::vector<uint32_t> next;                  // state * class_count + class -> state
  std::vector<std::vector<uint32_t>> accepts;  // per state: matching globs, sorted

  uint32_t state_count() const { return static_cast<uint32_t>(accepts.size()); }
  uint32_t step(uint32_t state, uint8_t byte) const {
    return next[size_t{state} * class_count + byte_class[byte]];
  }
  // Runs encoded bytes (see encode_path: "" for the root, "a/b/" ...).
  uint32_t run(uint32_t state, std::string_view bytes) const {
    for (char c : bytes) state = step(state, static_cast<uint8_t>(c));
    return state;
  }
};

struct DfaStats {
  uint32_t nfa_states = 0;
  uint32_t dfa_states_before_minimization = 0;
  uint32_t dfa_states = 0;
  uint32_t input_classes = 0;
};

// Subset construction can grow exponentially ("/*a??????????????" needs
// 2^n states); past this many states building stops.
inline constexpr uint32_t kMaxDfaStates = 1000000;

// Determinises and minimises. `stats` may be null. nullopt when the
// automaton would exceed `max_states` states.
std::optional<Dfa> build_dfa(const Nfa& nfa, DfaStats* stats = nullptr,
                             uint32_t max_states = kMaxDfaStates);

// Path classes: DFA states reachable at component boundaries, numbered
// breadth-first from the root's (class 0), each with a short example path.
struct PathClasses {
  std::vector<uint32_t> state_of_class;
  std::vector<int32_t> class_of_state;  // -1 for states inside components
  std::vector<std::string> example;     // per class: a shortest path in it
  // per class: the classes its children can be in (sorted)
  std::vector<std::vector<uint32_t>> children;
  // per class: some path of it has no ancestor whose state hides its
  // children (its example is such a path); all true without the predicate
  std::vector<bool> visible;
};

// `hides_children(state)`: paths below a directory in that state are
// hidden from everyone; their classes are numbered and given examples
// after the others.
PathClasses find_path_classes(const Dfa& dfa,
                              const std::function<bool(uint32_t state)>& hides_children = {});

// True when no two states of `dfa` accept the same language (checked by
// partition refinement from scratch; for tests).
bool is_minimal(const Dfa& dfa);

}  // namespace fspol::automata
