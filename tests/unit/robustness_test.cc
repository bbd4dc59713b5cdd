// Hostile input: the front end never crashes, never recurses without
// bound, never hangs, and reports a bounded number of errors.

#include <gtest/gtest.h>

#include <chrono>
#include <random>

#include "syntax/printer.h"
#include "test_util.h"

namespace fspol::syntax {
namespace {

using fspol::testing::parse;
using fspol::testing::policy;

TEST(Robustness, DeepParenthesesHitTheNestingLimit) {
  std::string cond = std::string(10000, '(') + "uid == 0" + std::string(10000, ')');
  auto p = parse(policy("hide \"/x\" when " + cond + ";\nhide \"/y\";"));
  ASSERT_EQ(p->diags.error_count(), 1u) << p->errors();
  EXPECT_EQ(p->diags.all()[0].message, "condition is nested too deeply (limit 200)");
  // Recovery goes on after the deep rule.
  EXPECT_NE(p->dump().find("\"/y\""), std::string::npos);
}

TEST(Robustness, DeepNotChainHitsTheNestingLimit) {
  std::string cond;
  for (int i = 0; i < 10000; ++i) cond += "not ";
  auto p = parse(policy("hide \"/x\" when " + cond + "true;"));
  ASSERT_EQ(p->diags.error_count(), 1u);
  EXPECT_EQ(p->diags.all()[0].message, "condition is nested too deeply (limit 200)");
}

TEST(Robustness, DeepBracesAreSkippedIteratively) {
  auto p = parse(policy(std::string(10000, '{') + std::string(10000, '}')));
  EXPECT_TRUE(p->diags.has_errors());
  EXPECT_LE(p->diags.error_count(), 50u);
}

TEST(Robustness, DeepGlobBracesHitTheLimit) {
  std::string glob = "/" + std::string(1000, '{') + "a" ;
  for (int i = 0; i < 1000; ++i) glob += ",b}";
  auto p = parse(policy("hide \"" + glob + "\";"));
  ASSERT_EQ(p->diags.error_count(), 1u);
  EXPECT_EQ(p->diags.all()[0].message, "braces are nested too deeply (limit 32)");
}

TEST(Robustness, TenMegabytePolicyParses) {
  std::string body;
  for (int i = 0; body.size() < (10u << 20); ++i) {
    body += "  deny write, create on \"/data/" + std::to_string(i) +
            "/**\" errno EPERM when uid in {1000..1999, 3000} and not comm == \"x\";\n";
  }
  auto start = std::chrono::steady_clock::now();
  auto p = parse(policy(body));
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_FALSE(p->diags.has_errors());
  EXPECT_GT(p->file.ast.items.size(), 50000u);
  // Not a benchmark (see bench/); only a guard against quadratic behaviour.
  EXPECT_LT(elapsed, std::chrono::seconds(30));
}

TEST(Robustness, TenMegabytesOfGarbageStopsAtTheErrorLimit) {
  std::string junk;
  for (int i = 0; junk.size() < (10u << 20); ++i) junk += "@ ) ] deny ; { 0x 09 ";
  auto p = parse(junk);
  EXPECT_EQ(p->diags.error_count(), 50u);
}

TEST(Robustness, RandomBytesNeverCrash) {
  std::mt19937 rng(42);
  for (int round = 0; round < 2000; ++round) {
    std::string text(rng() % 512, '\0');
    for (char& c : text) c = static_cast<char>(rng() % 256);
    auto p = parse(text);
    (void)p->errors();
  }
}

TEST(Robustness, TokenSoupNeverCrashes) {
  // Random sequences of real tokens reach deeper into the parser than bytes.
  const std::vector<std::string> words = {
      "policy", "p", "{", "}", "hide", "deny", "attr", "rename", "write", "on", "\"/x\"", ";",
      ",", "when", "uid", "==", "in", "..", "1", "(", ")", "not", "and", "or", "errno", "EPERM",
      "mode", "=", "map", "->", "suffix", "to", "with", "file", "|", "let", "import", "comm",
      "\"a\"", "tag", "unless", "module", "lower", "option", "cache", "auto", "1s", "true"};
  std::mt19937 rng(7);
  for (int round = 0; round < 3000; ++round) {
    std::string text = rng() % 2 ? "policy p {" : "";
    size_t n = rng() % 60;
    for (size_t i = 0; i < n; ++i) text += words[rng() % words.size()] + " ";
    auto p = parse(text);
    (void)p->errors();
    if (!p->diags.has_errors()) {
      std::string once = format_file(p->file, p->sources.file(p->id));
      auto again = parse(once);
      ASSERT_FALSE(again->diags.has_errors()) << text << "\n=>\n" << once;
      EXPECT_EQ(again->dump(), p->dump()) << text;
    }
  }
}

}  // namespace
}  // namespace fspol::syntax
