#include "automata/nfa.h"

#include "syntax/path.h"

namespace fspol::automata {

namespace {

// Bytes a component may contain: anything but NUL and '/'.
constexpr uint8_t kSlash = '/';

class Builder {
 public:
  explicit Builder(Nfa& nfa) : nfa_(nfa) {}

  uint32_t state() {
    nfa_.states.emplace_back();
    return static_cast<uint32_t>(nfa_.states.size() - 1);
  }
  void edge(uint32_t from, uint8_t lo, uint8_t hi, uint32_t to) {
    nfa_.states[from].edges.push_back(NfaEdge{lo, hi, to});
  }
  void epsilon(uint32_t from, uint32_t to) { nfa_.states[from].epsilon.push_back(to); }

  // Any component byte, as ranges excluding NUL and '/'.
  void any_byte(uint32_t from, uint32_t to) {
    edge(from, 1, kSlash - 1, to);
    edge(from, kSlash + 1, 255, to);
  }

  // Adds `seq` from `from`; returns the state after it.
  uint32_t sequence(uint32_t from, const syntax::GlobSeq& seq) {
    uint32_t at = from;
    for (const syntax::GlobPiece& piece : seq) at = piece_(at, piece);
    return at;
  }

  // ([^/]+ "/")* from `from`; returns the state after it.
  uint32_t globstar(uint32_t from) {
    uint32_t loop = state();
    epsilon(from, loop);
    uint32_t in_component = state();
    any_byte(loop, in_component);
    any_byte(in_component, in_component);
    edge(in_component, kSlash, kSlash, loop);
    return loop;
  }

 private:
  uint32_t piece_(uint32_t from, const syntax::GlobPiece& piece) {
    using K = syntax::GlobPiece::Kind;
    switch (piece.kind) {
      case K::kLiteral: {
        uint32_t at = from;
        for (char c : piece.literal) {
          uint32_t next = state();
          auto b = static_cast<uint8_t>(c);
          edge(at, b, b, next);
          at = next;
        }
        return at;
      }
      case K::kStar: {
        uint32_t loop = state();
        epsilon(from, loop);
        any_byte(loop, loop);
        return loop;
      }
      case K::kAnyChar: {
        uint32_t out = state();
        // One byte: ASCII other than NUL and '/', or any byte >= 0x80 on
        // its own (so invalid UTF-8 still matches byte by byte).
        edge(from, 1, kSlash - 1, out);
        edge(from, kSlash + 1, 0x7f, out);
        edge(from, 0x80, 0xff, out);
        // Or one well-formed multi-byte UTF-8 sequence.
        auto tail = [&](uint32_t at, int n) {
          for (int i = 0; i < n; ++i) {
            uint32_t next = i + 1 == n ? out : state();
            edge(at, 0x80, 0xbf, next);
            at = next;
          }
        };
        uint32_t two = state(), three = state(), four = state();
        edge(from, 0xc2, 0xdf, two);
        edge(from, 0xe0, 0xef, three);
        edge(from, 0xf0, 0xf4, four);
        tail(two, 1);
        tail(three, 2);
        tail(four, 3);
        return out;
      }
      case K::kClass: {
        uint32_t out = state();
        for (unsigned b = 1; b < 256;) {
          if (!piece.bytes.test(b)) {
            ++b;
            continue;
          }
          unsigned e = b;
          while (e + 1 < 256 && piece.bytes.test(e + 1)) ++e;
          edge(from, static_cast<uint8_t>(b), static_cast<uint8_t>(e), out);
          b = e + 1;
        }
        return out;
      }
      case K::kAlternatives: {
        uint32_t out = state();
        for (const syntax::GlobSeq& alternative : piece.alternatives) {
          uint32_t begin = state();
          epsilon(from, begin);
          epsilon(sequence(begin, alternative), out);
        }
        return out;
      }
    }
    return from;
  }

  Nfa& nfa_;
};

}  // namespace

Nfa build_nfa(const std::vector<const syntax::Glob*>& globs) {
  Nfa nfa;
  Builder b(nfa);
  nfa.start = b.state();
  for (size_t i = 0; i < globs.size(); ++i) {
    uint32_t at = b.state();
    b.epsilon(nfa.start, at);
    for (const syntax::GlobComponent& component : globs[i]->components) {
      if (component.globstar) {
        at = b.globstar(at);
        continue;
      }
      uint32_t end = b.sequence(at, component.pieces);
      at = b.state();
      b.edge(end, kSlash, kSlash, at);
    }
    uint32_t accept = b.state();
    b.epsilon(at, accept);
    nfa.states[accept].accept = static_cast<int32_t>(i);
  }
  return nfa;
}

std::string encode_path(std::string_view path) {
  std::string out;
  for (const std::string& c : syntax::path_components(path)) {
    if (c.empty()) continue;
    out += c;
    out += '/';
  }
  return out;
}

}  // namespace fspol::automata
