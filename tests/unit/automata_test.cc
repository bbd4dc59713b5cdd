// The policy DFA against RE2 as the oracle: for random globs and paths,
// "the DFA accepts glob i at path p" must equal "RE2 fully matches the
// translated regular expression of glob i against p". Also checks that
// every built DFA is minimal and that path classes are component
// boundaries.

#include <gtest/gtest.h>
#include <re2/re2.h>

#include <random>

#include "automata/dfa.h"
#include "automata/nfa.h"
#include "fspol/diagnostics.h"
#include "syntax/glob.h"
#include "syntax/parser.h"

namespace fspol::automata {
namespace {

std::optional<syntax::Glob> glob(const std::string& raw) {
  SourceManager sources;
  FileId f = sources.add("t", "\"" + raw + "\"");
  syntax::StringLit lit{raw, "", SourceRange{f, 0, static_cast<uint32_t>(raw.size() + 2)}};
  Diagnostics diags;
  return syntax::parse_glob(lit, diags);
}

std::string encode(const std::string& path) { return encode_path(path); }

std::string byte_regex(unsigned b) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "\\x%02x", b);
  return buf;
}

// The regular-expression meaning of a glob, independent of the NFA code.
std::string to_regex(const syntax::GlobSeq& seq);

std::string piece_regex(const syntax::GlobPiece& p) {
  using K = syntax::GlobPiece::Kind;
  const std::string component_byte = "[\\x01-\\x2e\\x30-\\xff]";
  switch (p.kind) {
    case K::kLiteral: {
      std::string out;
      for (char c : p.literal) out += byte_regex(static_cast<unsigned char>(c));
      return out;
    }
    case K::kStar:
      return component_byte + "*";
    case K::kAnyChar:
      return "(?:[\\x01-\\x2e\\x30-\\x7f]|[\\x80-\\xff]|[\\xc2-\\xdf][\\x80-\\xbf]|"
             "[\\xe0-\\xef][\\x80-\\xbf]{2}|[\\xf0-\\xf4][\\x80-\\xbf]{3})";
    case K::kClass: {
      std::string out = "[";
      for (unsigned b = 1; b < 256; ++b) {
        if (p.bytes.test(b)) out += byte_regex(b);
      }
      return out + "]";
    }
    case K::kAlternatives: {
      std::string out = "(?:";
      for (size_t i = 0; i < p.alternatives.size(); ++i) {
        out += (i ? "|" : "") + to_regex(p.alternatives[i]);
      }
      return out + ")";
    }
  }
  return "";
}

std::string to_regex(const syntax::GlobSeq& seq) {
  std::string out;
  for (const syntax::GlobPiece& p : seq) out += piece_regex(p);
  return out;
}

std::string to_regex(const syntax::Glob& g) {
  std::string out;
  for (const syntax::GlobComponent& c : g.components) {
    out += c.globstar ? "(?:[\\x01-\\x2e\\x30-\\xff]+/)*" : to_regex(c.pieces) + "/";
  }
  return out;
}

class Random {
 public:
  explicit Random(uint32_t seed) : rng_(seed) {}
  uint32_t below(uint32_t n) { return static_cast<uint32_t>(rng_() % n); }
  bool chance(uint32_t percent) { return below(100) < percent; }

  // Names from a small alphabet so that globs and paths meet often; some
  // UTF-8 and some raw high bytes to exercise '?'.
  std::string name_char() {
    static const std::vector<std::string> chars = {"a", "b", "c", ".", "-", "x", "\xc3\xa9",
                                                   "\xe2\x82\xac", "\xff", "1"};
    return chars[below(static_cast<uint32_t>(chars.size()))];
  }

  std::string glob_seq(int depth) {
    std::string out;
    uint32_t n = 1 + below(3);
    for (uint32_t i = 0; i < n; ++i) {
      switch (below(depth > 0 ? 6 : 5)) {
        case 0: out += "*"; break;
        case 1: out += "?"; break;
        case 2: out += below(2) ? "[a-c]" : "[!a.]"; break;
        case 3: out += "\\*"; break;
        case 5: out += "{" + glob_seq(depth - 1) + "," + glob_seq(depth - 1) + (below(2) ? ",}" : "}"); break;
        default: {
          std::string c = name_char();
          out += c == "\xff" ? "\\xff" : c;
        }
      }
    }
    return out;
  }

  std::string glob() {
    std::string out;
    uint32_t n = below(4);
    bool last_star = false;
    for (uint32_t i = 0; i < n; ++i) {
      if (!last_star && chance(25)) {
        out += "/**";
        last_star = true;
      } else {
        out += "/" + glob_seq(2);
        last_star = false;
      }
    }
    return out.empty() ? "/" : out;
  }

  std::string path() {
    std::string out;
    uint32_t n = below(5);
    for (uint32_t i = 0; i < n; ++i) {
      out += "/";
      uint32_t len = 1 + below(4);
      for (uint32_t j = 0; j < len; ++j) {
        std::string c = chance(5) ? "*" : name_char();
        out += c;
      }
    }
    return out.empty() ? "/" : out;
  }

 private:
  std::mt19937 rng_;
};

TEST(Dfa, AgreesWithRe2OnRandomGlobsAndPaths) {
  Random random(20261121);
  RE2::Options options;
  options.set_encoding(RE2::Options::EncodingLatin1);
  options.set_log_errors(false);
  size_t cases = 0, matches = 0;
  for (int policy = 0; policy < 800; ++policy) {
    std::vector<syntax::Glob> globs;
    std::vector<std::string> raws;
    uint32_t n = 1 + random.below(6);
    for (uint32_t i = 0; i < n; ++i) {
      std::string raw = random.glob();
      auto g = glob(raw);
      if (!g) continue;
      globs.push_back(std::move(*g));
      raws.push_back(raw);
    }
    std::vector<const syntax::Glob*> pointers;
    for (const auto& g : globs) pointers.push_back(&g);
    Dfa dfa = *build_dfa(build_nfa(pointers));
    ASSERT_TRUE(is_minimal(dfa)) << "policy " << policy;
    std::vector<std::unique_ptr<RE2>> oracles;
    for (const auto& g : globs) {
      oracles.push_back(std::make_unique<RE2>(to_regex(g), options));
      ASSERT_TRUE(oracles.back()->ok()) << to_regex(g);
    }
    for (int p = 0; p < 60; ++p) {
      std::string path = random.path();
      std::string bytes = encode(path);
      const auto& accepts = dfa.accepts[dfa.run(dfa.start, bytes)];
      for (uint32_t i = 0; i < globs.size(); ++i) {
        bool dfa_match = std::binary_search(accepts.begin(), accepts.end(), i);
        bool re2_match = RE2::FullMatch(bytes, *oracles[i]);
        ++cases;
        matches += re2_match;
        ASSERT_EQ(dfa_match, re2_match) << "glob " << raws[i] << " path " << path;
      }
    }
  }
  // Enough cases, and enough of them positive to mean something.
  EXPECT_GE(cases, 100000u);
  EXPECT_GE(matches, cases / 20);
  std::printf("[ dfa/re2 ] %zu cases, %zu matches\n", cases, matches);
}

TEST(Dfa, GlobSemantics) {
  struct Case {
    const char* glob;
    const char* path;
    bool match;
  };
  const Case cases[] = {
      {"/", "/", true},          {"/", "/a", false},       {"/**", "/", true},
      {"/**", "/a/b", true},     {"/a/**", "/a", true},    {"/a/**", "/ab", false},
      {"/a/**/b", "/a/b", true}, {"/a/**/b", "/a/x/y/b", true}, {"/a/*", "/a", false},
      {"/a/*", "/a/b/c", false}, {"/*.log", "/.log", true}, {"/?", "/\xc3\xa9", true},
      {"/??", "/\xc3\xa9", true}, {"/?", "/ab", false},    {"/[!a]", "/b", true},
      {"/{a,b}c", "/bc", true},  {"/{a,b}c", "/c", false}, {"/a\\*", "/a*", true},
      {"/a\\*", "/ab", false},   {"/**/.*", "/x/.git", true},
  };
  for (const Case& c : cases) {
    auto g = glob(c.glob);
    ASSERT_TRUE(g) << c.glob;
    Dfa dfa = *build_dfa(build_nfa({&*g}));
    bool matched = !dfa.accepts[dfa.run(dfa.start, encode(c.path))].empty();
    EXPECT_EQ(matched, c.match) << c.glob << " vs " << c.path;
  }
}

TEST(Dfa, PathClassesAreComponentBoundaries) {
  auto a = glob("/home/*/.ssh/**");
  auto b = glob("/home/*/public");
  Dfa dfa = *build_dfa(build_nfa({&*a, &*b}));
  PathClasses classes = find_path_classes(dfa);
  // Root, /home, /home/x, /home/x/.ssh (and below), /home/x/public, and
  // the class of everything else.
  EXPECT_EQ(classes.state_of_class.size(), 6u);
  EXPECT_EQ(classes.example[0], "/");
  for (size_t i = 0; i < classes.example.size(); ++i) {
    EXPECT_EQ(dfa.run(dfa.start, encode(classes.example[i])), classes.state_of_class[i])
        << classes.example[i];
  }
}

TEST(Dfa, SameGlobsSameAutomaton) {
  auto a = glob("/x/{a,b}*/**");
  auto b = glob("/x/*.c");
  Dfa one = *build_dfa(build_nfa({&*a, &*b}));
  Dfa two = *build_dfa(build_nfa({&*a, &*b}));
  EXPECT_EQ(one.next, two.next);
  EXPECT_EQ(one.accepts, two.accepts);
}

TEST(Dfa, ExponentialSelectorsStopAtTheStateLimit) {
  auto g = glob("/*a??????????????????????");  // 2^22 states
  EXPECT_FALSE(build_dfa(build_nfa({&*g}), nullptr, 100000).has_value());
  auto small = glob("/*a???");
  EXPECT_TRUE(build_dfa(build_nfa({&*small}), nullptr, 100000).has_value());
}

}  // namespace
}  // namespace fspol::automata
