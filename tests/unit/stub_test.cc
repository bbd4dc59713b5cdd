// The C++ stubs `fsc compile --emit=stub` writes, compiled into this test
// (tests/CMakeLists.txt generates them for two policies): the embedded
// policy loads without compiling anything and answers every row of its
// eval table as the table says; its program sets fail to load cleanly on
// a kernel without fuse-bpf.

#include <gtest/gtest.h>

#include "android_media_stub.h"
#include "eval_rows.h"
#include "semantics_stub.h"

namespace fspol::runtime {
namespace {

namespace fs = std::filesystem;

struct Case {
  const char* table;
  Result<Policy> (*policy)(const HandlerRegistry&);
  std::string_view (*compiled)();
};

const Case kCases[] = {
    {"semantics.eval", fspol_policy::semantics::policy, fspol_policy::semantics::compiled},
    {"android-media.eval", fspol_policy::android_media::policy,
     fspol_policy::android_media::compiled},
};

TEST(Stubs, AnswerEveryEvalTableRowAsTheTableSays) {
  for (const Case& c : kCases) {
    auto policy = c.policy(HandlerRegistry::builtin());
    ASSERT_TRUE(policy.ok()) << c.table << ": " << policy.error().message;
    EXPECT_GT(policy->rule_count, 0u);
    int rows = eval_rows::run_eval_table(fs::path(FSPOL_SOURCE_DIR) / "tests/eval" / c.table,
                                         [&](const fs::path&) { return policy->engine.get(); });
    EXPECT_GT(rows, 15) << c.table;
  }
}

TEST(Stubs, AnUnregisteredHandlerIsRefusedAtItsRule) {
  HandlerRegistry none;
  auto policy = fspol_policy::semantics::policy(none);
  ASSERT_FALSE(policy.ok());
  EXPECT_NE(policy.error().message.find("semantics.fspol:38:3: error: no handler 'redact_secrets'"),
            std::string::npos)
      << policy.error().message;
}

TEST(Stubs, DamagedBytesAreRefused) {
  std::string bytes(fspol_policy::semantics::compiled());
  bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x5a);
  bytes.resize(bytes.size() - 1);
  auto policy = load_compiled_policy(bytes, "damaged");
  ASSERT_FALSE(policy.ok());
  EXPECT_NE(policy.error().message.find("damaged: "), std::string::npos);
}

TEST(Stubs, ProgramsLoadOrSayWhyNot) {
  auto programs = fspol_policy::android_media::Programs::load();
  if (programs.ok()) {
    EXPECT_NE(programs->root_set(), nullptr);  // a fuse-bpf kernel
  } else {
    EXPECT_NE(programs.error().message.find("android_media: loading the fuse_ops programs"),
              std::string::npos)
        << programs.error().message;
  }
}

}  // namespace
}  // namespace fspol::runtime
