#include "automata/dfa.h"

#include <algorithm>
#include <deque>
#include <map>
#include <tuple>

namespace fspol::automata {

namespace {

// Input classes: bytes that every NFA edge treats alike.
void byte_classes(const Nfa& nfa, Dfa& dfa) {
  std::array<bool, 257> boundary{};
  boundary[0] = true;
  for (const NfaState& s : nfa.states) {
    for (const NfaEdge& e : s.edges) {
      boundary[e.lo] = true;
      boundary[size_t{e.hi} + 1] = true;
    }
  }
  uint32_t cls = 0;
  for (size_t b = 0; b < 256; ++b) {
    if (b > 0 && boundary[b]) ++cls;
    dfa.byte_class[b] = static_cast<uint8_t>(cls);
  }
  dfa.class_count = cls + 1;
}

// Epsilon closures. The visited marks are generation stamps kept across
// calls: clearing a mark per NFA state on every call made determinisation
// quadratic in the NFA's size.
class Closure {
 public:
  explicit Closure(const Nfa& nfa) : nfa_(nfa), mark_(nfa.states.size(), 0) {}

  std::vector<uint32_t> operator()(std::vector<uint32_t> states) {
    ++generation_;
    stack_.clear();
    for (uint32_t s : states) {
      mark_[s] = generation_;
      stack_.push_back(s);
    }
    while (!stack_.empty()) {
      uint32_t s = stack_.back();
      stack_.pop_back();
      for (uint32_t t : nfa_.states[s].epsilon) {
        if (mark_[t] == generation_) continue;
        mark_[t] = generation_;
        states.push_back(t);
        stack_.push_back(t);
      }
    }
    std::sort(states.begin(), states.end());
    return states;
  }

 private:
  const Nfa& nfa_;
  std::vector<uint32_t> mark_;
  std::vector<uint32_t> stack_;
  uint32_t generation_ = 0;
};

std::optional<Dfa> determinize(const Nfa& nfa, uint32_t max_states) {
  Dfa dfa;
  byte_classes(nfa, dfa);

  Closure closure(nfa);
  std::map<std::vector<uint32_t>, uint32_t> ids;
  std::vector<std::vector<uint32_t>> sets;
  auto intern = [&](std::vector<uint32_t> set) {
    auto [it, inserted] = ids.emplace(set, static_cast<uint32_t>(sets.size()));
    if (inserted) {
      std::vector<uint32_t> accepts;
      for (uint32_t s : set) {
        if (nfa.states[s].accept >= 0) accepts.push_back(static_cast<uint32_t>(nfa.states[s].accept));
      }
      std::sort(accepts.begin(), accepts.end());
      accepts.erase(std::unique(accepts.begin(), accepts.end()), accepts.end());
      dfa.accepts.push_back(std::move(accepts));
      sets.push_back(std::move(set));
    }
    return it->second;
  };
  dfa.start = intern(closure({nfa.start}));
  // One pass over a state set's edges fills every class's targets: most
  // edges are one literal byte, so this beats asking each class in turn.
  std::vector<std::vector<uint32_t>> targets(dfa.class_count);
  for (uint32_t d = 0; d < sets.size(); ++d) {
    if (sets.size() > max_states) return std::nullopt;
    for (auto& t : targets) t.clear();
    for (uint32_t s : sets[d]) {
      for (const NfaEdge& e : nfa.states[s].edges) {
        for (uint32_t c = dfa.byte_class[e.lo]; c <= dfa.byte_class[e.hi]; ++c) {
          targets[c].push_back(e.to);
        }
      }
    }
    for (uint32_t c = 0; c < dfa.class_count; ++c) {
      std::vector<uint32_t> set = targets[c];
      std::sort(set.begin(), set.end());
      set.erase(std::unique(set.begin(), set.end()), set.end());
      dfa.next.push_back(intern(closure(std::move(set))));
    }
  }
  return dfa;
}

// Hopcroft's algorithm. Returns the block of every state.
std::vector<uint32_t> hopcroft(const Dfa& dfa) {
  const uint32_t n = dfa.state_count();
  const uint32_t k = dfa.class_count;
  // Inverse transitions, per class: for each state, its predecessors.
  std::vector<std::vector<uint32_t>> inverse_start(k, std::vector<uint32_t>(n + 1, 0));
  std::vector<std::vector<uint32_t>> inverse(k, std::vector<uint32_t>(n));
  for (uint32_t c = 0; c < k; ++c) {
    auto& start = inverse_start[c];
    for (uint32_t s = 0; s < n; ++s) ++start[dfa.next[size_t{s} * k + c] + 1];
    for (uint32_t s = 0; s < n; ++s) start[s + 1] += start[s];
    std::vector<uint32_t> fill(start.begin(), start.end() - 1);
    for (uint32_t s = 0; s < n; ++s) inverse[c][fill[dfa.next[size_t{s} * k + c]]++] = s;
  }
  // Initial partition: by accept list.
  std::map<std::vector<uint32_t>, uint32_t> by_accepts;
  std::vector<uint32_t> block(n);
  for (uint32_t s = 0; s < n; ++s) {
    block[s] = by_accepts.emplace(dfa.accepts[s], static_cast<uint32_t>(by_accepts.size()))
                   .first->second;
  }
  std::vector<std::vector<uint32_t>> members(by_accepts.size());
  for (uint32_t s = 0; s < n; ++s) members[block[s]].push_back(s);
  std::vector<bool> in_work(members.size(), true);
  std::deque<uint32_t> work;
  for (uint32_t b = 0; b < members.size(); ++b) work.push_back(b);

  std::vector<uint32_t> touched_count;
  std::vector<uint32_t> touched_blocks;
  std::vector<bool> marked(n, false);
  while (!work.empty()) {
    uint32_t a = work.front();
    work.pop_front();
    in_work[a] = false;
    std::vector<uint32_t> splitter = members[a];  // copy: members change below
    for (uint32_t c = 0; c < k; ++c) {
      touched_blocks.clear();
      touched_count.resize(members.size(), 0);
      for (uint32_t t : splitter) {
        for (uint32_t i = inverse_start[c][t]; i < inverse_start[c][t + 1]; ++i) {
          uint32_t s = inverse[c][i];
          if (marked[s]) continue;
          marked[s] = true;
          if (touched_count[block[s]]++ == 0) touched_blocks.push_back(block[s]);
        }
      }
      for (uint32_t y : touched_blocks) {
        if (touched_count[y] == members[y].size()) {
          touched_count[y] = 0;
          for (uint32_t s : members[y]) marked[s] = false;
          continue;
        }
        // Split y into marked (stays y) and unmarked (new block z).
        uint32_t z = static_cast<uint32_t>(members.size());
        std::vector<uint32_t> stay, move;
        for (uint32_t s : members[y]) (marked[s] ? stay : move).push_back(s);
        for (uint32_t s : stay) marked[s] = false;
        for (uint32_t s : move) block[s] = z;
        members[y] = std::move(stay);
        members.push_back(std::move(move));
        touched_count[y] = 0;
        touched_count.push_back(0);
        in_work.push_back(false);
        if (in_work[y]) {
          in_work[z] = true;
          work.push_back(z);
        } else {
          uint32_t smaller = members[y].size() <= members[z].size() ? y : z;
          in_work[smaller] = true;
          work.push_back(smaller);
        }
      }
    }
  }
  return block;
}

// Rebuilds `dfa` over blocks, numbered breadth-first from the start.
Dfa quotient(const Dfa& dfa, const std::vector<uint32_t>& block) {
  const uint32_t k = dfa.class_count;
  uint32_t blocks = 0;
  for (uint32_t b : block) blocks = std::max(blocks, b + 1);
  std::vector<uint32_t> some_state(blocks);
  for (uint32_t s = 0; s < dfa.state_count(); ++s) some_state[block[s]] = s;

  std::vector<int64_t> order(blocks, -1);
  std::vector<uint32_t> queue = {block[dfa.start]};
  order[block[dfa.start]] = 0;
  for (size_t i = 0; i < queue.size(); ++i) {
    uint32_t s = some_state[queue[i]];
    for (uint32_t c = 0; c < k; ++c) {
      uint32_t b = block[dfa.next[size_t{s} * k + c]];
      if (order[b] >= 0) continue;
      order[b] = static_cast<int64_t>(queue.size());
      queue.push_back(b);
    }
  }
  Dfa out;
  out.byte_class = dfa.byte_class;
  out.class_count = k;
  out.start = 0;
  out.accepts.resize(queue.size());
  out.next.resize(queue.size() * k);
  for (size_t i = 0; i < queue.size(); ++i) {
    uint32_t s = some_state[queue[i]];
    out.accepts[i] = dfa.accepts[s];
    for (uint32_t c = 0; c < k; ++c) {
      out.next[i * k + c] = static_cast<uint32_t>(order[block[dfa.next[size_t{s} * k + c]]]);
    }
  }
  return out;
}

// A byte of the class for examples: a letter or digit when there is one.
uint8_t nice_byte(const Dfa& dfa, uint32_t cls) {
  for (const char* range : {"az", "09", "AZ", "__", "..", "--"}) {
    for (int b = range[0]; b <= range[1]; ++b) {
      if (dfa.byte_class[static_cast<size_t>(b)] == cls) return static_cast<uint8_t>(b);
    }
  }
  for (int b = 1; b < 256; ++b) {
    if (b != '/' && dfa.byte_class[static_cast<size_t>(b)] == cls) return static_cast<uint8_t>(b);
  }
  return 0;
}

}  // namespace

std::optional<Dfa> build_dfa(const Nfa& nfa, DfaStats* stats, uint32_t max_states) {
  std::optional<Dfa> determinized = determinize(nfa, max_states);
  if (!determinized) return std::nullopt;
  const Dfa& raw = *determinized;
  Dfa min = quotient(raw, hopcroft(raw));
  if (stats) {
    stats->nfa_states = static_cast<uint32_t>(nfa.states.size());
    stats->dfa_states_before_minimization = raw.state_count();
    stats->dfa_states = min.state_count();
    stats->input_classes = min.class_count;
  }
  return min;
}

PathClasses find_path_classes(const Dfa& dfa, const std::function<bool(uint32_t)>& hides_children) {
  PathClasses out;
  out.class_of_state.assign(dfa.state_count(), -1);
  auto add = [&](uint32_t state, std::string example) {
    if (out.class_of_state[state] >= 0) return static_cast<uint32_t>(out.class_of_state[state]);
    out.class_of_state[state] = static_cast<int32_t>(out.state_of_class.size());
    out.state_of_class.push_back(state);
    out.example.push_back(example.empty() ? "/" : std::move(example));
    out.children.emplace_back();
    return static_cast<uint32_t>(out.state_of_class.size() - 1);
  };
  add(dfa.start, "");
  uint32_t slash_class = dfa.byte_class['/'];
  // Input classes tried in the order that gives readable examples:
  // letters, digits, then the rest.
  std::vector<uint32_t> example_order(dfa.class_count);
  for (uint32_t c = 0; c < dfa.class_count; ++c) example_order[c] = c;
  auto rank = [&](uint32_t c) {
    uint8_t b = nice_byte(dfa, c);
    int group = b >= 'a' && b <= 'z' ? 0 : b >= '0' && b <= '9' ? 1 : b >= 'A' && b <= 'Z' ? 2 : 3;
    return std::tuple{group, b, c};
  };
  std::sort(example_order.begin(), example_order.end(),
                   [&](uint32_t x, uint32_t y) { return rank(x) < rank(y); });
  // Children of a class whose children are hidden from everyone are
  // explored last, so that every class reachable otherwise gets an example
  // with no hidden ancestor.
  auto expand = [&](uint32_t i) {
    uint32_t boundary = out.state_of_class[i];
    std::string prefix = i == 0 ? "" : out.example[i];
    // Breadth-first over one component's bytes; every state reached after
    // at least one byte may end the component with '/', and the state
    // after that '/' is a class.
    std::vector<std::pair<uint32_t, std::string>> queue = {{boundary, ""}};
    std::vector<bool> seen(dfa.state_count(), false);
    seen[boundary] = true;
    for (size_t q = 0; q < queue.size(); ++q) {
      auto [state, component] = queue[q];
      for (uint32_t c : example_order) {
        uint8_t byte = nice_byte(dfa, c);
        if (byte == 0) continue;  // only NUL and '/' are in this class
        uint32_t to = dfa.next[size_t{state} * dfa.class_count + c];
        std::string name = component + static_cast<char>(byte);
        // "." and ".." never name a child (the kernel resolves them):
        // another byte of the same input class stands in, if there is one.
        if (name == "." || name == "..") {
          for (int b = 1; b < 256; ++b) {
            if (b != '.' && b != '/' && dfa.byte_class[static_cast<size_t>(b)] == c) {
              name.back() = static_cast<char>(b);
              break;
            }
          }
        }
        if (name != "." && name != "..") {
          uint32_t child = add(dfa.next[size_t{to} * dfa.class_count + slash_class], prefix + "/" + name);
          out.children[i].push_back(child);
        }
        if (!seen[to]) {
          seen[to] = true;
          queue.emplace_back(to, name);
        }
      }
    }
    auto& kids = out.children[i];
    std::sort(kids.begin(), kids.end());
    kids.erase(std::unique(kids.begin(), kids.end()), kids.end());
  };
  std::vector<uint32_t> deferred;
  for (uint32_t i = 0; i < out.state_of_class.size(); ++i) {
    if (hides_children && hides_children(out.state_of_class[i])) {
      deferred.push_back(i);
    } else {
      expand(i);
    }
  }
  out.visible.assign(out.state_of_class.size(), true);
  for (size_t d = 0; d < deferred.size(); ++d) {
    size_t before = out.state_of_class.size();
    expand(deferred[d]);
    for (uint32_t i = static_cast<uint32_t>(before); i < out.state_of_class.size(); ++i) deferred.push_back(i);
  }
  out.visible.resize(out.state_of_class.size(), false);
  return out;
}

bool is_minimal(const Dfa& dfa) {
  // Moore refinement from the accept partition; minimal iff every state
  // ends in its own block.
  const uint32_t n = dfa.state_count();
  std::map<std::vector<uint32_t>, uint32_t> initial;
  std::vector<uint32_t> block(n);
  for (uint32_t s = 0; s < n; ++s) {
    block[s] = initial.emplace(dfa.accepts[s], static_cast<uint32_t>(initial.size())).first->second;
  }
  size_t count = initial.size();
  for (;;) {
    std::map<std::vector<uint32_t>, uint32_t> signatures;
    std::vector<uint32_t> next(n);
    for (uint32_t s = 0; s < n; ++s) {
      std::vector<uint32_t> sig = {block[s]};
      for (uint32_t c = 0; c < dfa.class_count; ++c) {
        sig.push_back(block[dfa.next[size_t{s} * dfa.class_count + c]]);
      }
      next[s] = signatures.emplace(std::move(sig), static_cast<uint32_t>(signatures.size()))
                    .first->second;
    }
    block = std::move(next);
    if (signatures.size() == count) break;
    count = signatures.size();
  }
  return count == n;
}

}  // namespace fspol::automata
