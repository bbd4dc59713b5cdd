// The IR as bytes (ir/codec.h): every policy in the tree survives the
// round trip field by field (its printed IR and every ir_eval verdict on
// its class examples are unchanged), and bytes that are not an encoded
// policy are refused, never trusted.

#include <gtest/gtest.h>

#include <cstdlib>
#include <random>

#include "fspol/compiler.h"
#include "ir/codec.h"
#include "ir/ir_eval.h"
#include "ir/ir_printer.h"
#include "ir/render.h"
#include "test_util.h"

namespace fspol::ir {
namespace {

std::vector<std::pair<std::string, Policy>> tree_policies() {
  std::vector<std::pair<std::string, Policy>> out;
  for (const auto& file : testing::policy_files_in_tree()) {
    Compiler compiler(testing::tree_compile_options());
    const Unit* unit = compiler.compile(file.string());
    if (unit != nullptr && unit->policy) out.emplace_back(file.filename().string(), *unit->policy);
  }
  return out;
}

TEST(Codec, EveryPolicyInTheTreeRoundTrips) {
  auto policies = tree_policies();
  ASSERT_GT(policies.size(), 10u);
  for (const auto& [name, policy] : policies) {
    std::string bytes = encode(policy);
    auto decoded = decode(bytes);
    ASSERT_TRUE(decoded.ok()) << name << ": " << decoded.error().message;
    EXPECT_EQ(encode(*decoded), bytes) << name;
    EXPECT_EQ(print_ir(*decoded), print_ir(policy)) << name;
    for (const PathClass& pc : policy.classes) {
      for (size_t o = 0; o < kOpCount; ++o) {
        for (uint32_t uid : {0u, 1000u, 10057u}) {
          Request request{pc.example, static_cast<Op>(o), Caller{uid, uid, "game"},
                          syntax::kTypeFile, std::nullopt};
          auto want = evaluate(policy, request);
          auto got = evaluate(*decoded, request);
          ASSERT_TRUE(want.ok() && got.ok());
          EXPECT_EQ(got->error, want->error) << name << " " << pc.example;
          EXPECT_EQ(got->lower_path, want->lower_path) << name << " " << pc.example;
          EXPECT_EQ(attr_text(got->attr), attr_text(want->attr)) << name << " " << pc.example;
        }
      }
    }
  }
}

TEST(Codec, DeterministicBytes) {
  auto a = tree_policies(), b = tree_policies();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(encode(a[i].second), encode(b[i].second));
}

TEST(Codec, RefusesWhatIsNotAnEncodedPolicy) {
  auto policies = tree_policies();
  ASSERT_FALSE(policies.empty());
  std::string bytes = encode(policies.front().second);
  EXPECT_FALSE(decode("").ok());
  EXPECT_FALSE(decode("policy p { }").ok());
  std::string other_version = bytes;
  other_version[8] = 9;
  auto refused = decode(other_version);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("format 9"), std::string::npos) << refused.error().message;
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(decode(std::string_view(bytes).substr(0, n)).ok()) << "cut at " << n;
  }
  EXPECT_FALSE(decode(bytes + "x").ok());
  // Damage anywhere: refused, or a policy whose indices hold (the
  // evaluator then runs without reading out of bounds).
  // FSPOL_CODEC_SEED varies the damage (the tree's file order varies it too).
  const char* seed = std::getenv("FSPOL_CODEC_SEED");
  std::mt19937 rng(seed ? static_cast<uint32_t>(std::strtoul(seed, nullptr, 10)) : 20261130u);
  int refused_count = 0;
  for (const auto& [name, policy] : policies) {
    std::string clean = encode(policy);
    for (int i = 0; i < 150; ++i) {
      std::string damaged = clean;
      size_t at = 12 + rng() % (damaged.size() - 12);
      damaged[at] = static_cast<char>(damaged[at] ^ (1 + rng() % 255));
      auto decoded = decode(damaged);
      if (!decoded.ok()) {
        ++refused_count;
        continue;
      }
      for (const PathClass& pc : decoded->classes) {
        Request request{pc.example, Op::kRead, Caller{0, 0, ""}, syntax::kTypeFile, std::nullopt};
        (void)evaluate(*decoded, request);
      }
    }
  }
  EXPECT_GT(refused_count, 50);
}

}  // namespace
}  // namespace fspol::ir
