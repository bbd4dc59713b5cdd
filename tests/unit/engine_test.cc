// The runtime's engine seam, without privileges: requests in, decisions
// out. Every row of the tests/eval tables is walked through the engine
// the way the daemon meets it (lookup of each component, then the
// request's check), and must give the table's answer; and for every
// example and eval policy, every class example, operation, file type and
// caller must give ir_eval's answer.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string.h>

#include "eval_rows.h"
#include "fspol/compiler.h"
#include "ir/ir_eval.h"
#include "policy/engine.h"
#include "test_util.h"

namespace fspol::runtime {
namespace {

namespace fs = std::filesystem;
using namespace eval_rows;  // NOLINT: the walk and the table rows

struct Loaded {
  std::unique_ptr<Compiler> compiler;
  std::shared_ptr<const ir::Policy> policy;
  std::unique_ptr<Engine> engine;
};

Loaded load(const fs::path& file) {
  Loaded out;
  out.compiler = std::make_unique<Compiler>(testing::tree_compile_options());
  const Unit* unit = out.compiler->compile(file.string());
  if (unit == nullptr || !unit->policy) return out;
  out.policy = std::make_shared<ir::Policy>(*unit->policy);
  auto engine = Engine::create(out.policy);
  if (engine) out.engine = std::move(*engine);
  return out;
}

TEST(Engine, AnswersEveryEvalTableRowAsTheTableSays) {
  int rows = 0;
  for (const auto& entry : fs::directory_iterator(fs::path(FSPOL_SOURCE_DIR) / "tests/eval")) {
    if (entry.path().extension() != ".eval") continue;
    Loaded loaded;
    rows += run_eval_table(entry.path(), [&](const fs::path& policy) -> const Engine* {
      loaded = load(policy);
      return loaded.engine.get();
    });
  }
  EXPECT_GT(rows, 30);
}

TEST(Engine, AgreesWithTheEvaluatorOnEveryClassOfEveryPolicy) {
  int checked = 0;
  for (const fs::path& file : testing::policy_files_in_tree()) {
    Loaded loaded = load(file);
    if (!loaded.engine) continue;
    const ir::Policy& policy = *loaded.policy;
    std::set<uint32_t> uids = {0, 1000, 10057, 65534};
    for (const ir::Rule& r : policy.rules) {
      if (!r.condition) continue;
      for (const ir::Condition& o : r.condition->operands) {
        for (const ir::Interval& i : o.ids) uids.insert(i.lo);
      }
      for (const ir::Interval& i : r.condition->ids) uids.insert(i.lo);
    }
    for (const ir::PathClass& pc : policy.classes) {
      if (!pc.visible) continue;
      for (size_t o = 0; o < ir::kOpCount; ++o) {
        auto op = static_cast<ir::Op>(o);
        for (uint8_t type : {syntax::kTypeFile, syntax::kTypeDir}) {
          for (uint32_t uid : uids) {
            Caller caller{uid, uid, ""};
            ir::Request request{pc.example, op, caller, type, std::nullopt};
            if (op == ir::Op::kRename || op == ir::Op::kLink) request.new_path = "/fspol-new";
            auto verdict = ir::evaluate(policy, request);
            ASSERT_TRUE(verdict.ok());
            int got = serve(*loaded.engine, pc.example, op, type, caller,
                            request.new_path.value_or(""));
            ASSERT_EQ(got, verdict->error)
                << file.filename().string() << ": " << ir::op_name(op) << " " << pc.example
                << " type " << int(type) << " uid " << uid << ": engine " << errno_text(got)
                << ", ir_eval " << verdict->error_name;
            ++checked;
          }
        }
      }
    }
  }
  EXPECT_GT(checked, 1000);
}

// A directory the engine lists as it is (no per-entry decision) must be
// one where every entry would be shown under its own name: for every
// policy, every visible class example that is a directory, every child
// class's example name, type and caller.
TEST(Engine, ListsAsIsOnlyWhereNoEntryIsHiddenOrRenamed) {
  int as_is = 0, filtered = 0;
  for (const fs::path& file : testing::policy_files_in_tree()) {
    Loaded loaded = load(file);
    if (!loaded.engine) continue;
    const ir::Policy& policy = *loaded.policy;
    const Engine& engine = *loaded.engine;
    for (const ir::PathClass& pc : policy.classes) {
      if (!pc.visible) continue;
      NodeState dir;
      std::vector<std::string> parts = components(pc.example);
      parts.emplace_back("child");
      if (walk_parent(engine, parts, Caller{0, 0, ""}, dir) != 0) continue;
      if (!engine.lists_as_is(dir)) {
        ++filtered;
        continue;
      }
      ++as_is;
      for (uint32_t child : pc.children) {
        std::vector<std::string> names = components(policy.classes[child].example);
        if (names.empty()) continue;
        const std::string& name = names.back();
        for (uint8_t type : {syntax::kTypeFile, syntax::kTypeDir, syntax::kTypeSymlink}) {
          for (uint32_t uid : {0u, 1000u, 10057u, 65534u}) {
            std::string view;
            EXPECT_TRUE(engine.dirent(dir, name, type, Caller{uid, uid, ""}, view))
                << file.filename().string() << ": " << pc.example << " lists " << name;
            EXPECT_EQ(view, name) << file.filename().string() << ": " << pc.example;
          }
        }
      }
    }
  }
  EXPECT_GT(as_is, 10);
  EXPECT_GT(filtered, 10);
}

}  // namespace
}  // namespace fspol::runtime
