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

#include "fspol/compiler.h"
#include "ir/ir_eval.h"
#include "policy/engine.h"
#include "test_util.h"

namespace fspol::runtime {
namespace {

namespace fs = std::filesystem;

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

std::vector<std::string> components(const std::string& path) {
  std::vector<std::string> out;
  std::istringstream in(path);
  std::string c;
  while (std::getline(in, c, '/')) {
    if (!c.empty()) out.push_back(c);
  }
  return out;
}

// Walks to the parent of `path`; the state of the parent, or an errno.
int walk_parent(const Engine& engine, const std::vector<std::string>& parts, const Caller& caller,
                NodeState& parent) {
  parent = engine.root();
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    Engine::Lookup l = engine.lookup(parent, parts[i], caller);
    if (l.error) return l.error;
    if (int err = engine.lookup_type(l.node, syntax::kTypeDir, caller)) return err;
    parent = l.node;
  }
  return 0;
}

// One request through the engine, as the daemon serves it.
int serve(const Engine& engine, const std::string& path, ir::Op op, uint8_t type,
          const Caller& caller, const std::string& to) {
  std::vector<std::string> parts = components(path);
  NodeState parent;
  if (int err = walk_parent(engine, parts, caller, parent)) return err;
  if (parts.empty()) return engine.check(engine.root(), ir::bit(op), type, caller);
  if (op == ir::Op::kCreate) return engine.check_new(parent, parts.back(), op, type, caller);
  Engine::Lookup l = engine.lookup(parent, parts.back(), caller);
  if (l.error) return l.error;
  if (int err = engine.lookup_type(l.node, type, caller)) return err;
  if (int err = engine.check(l.node, ir::bit(op), type, caller)) return err;
  if (op != ir::Op::kRename && op != ir::Op::kLink) return 0;
  std::vector<std::string> dest = components(to);
  NodeState dest_parent;
  if (int err = walk_parent(engine, dest, caller, dest_parent)) return err;
  return engine.check_new(dest_parent, dest.back(), op, type, caller);
}

std::string errno_text(int err) {
  if (err == 0) return "allow";
  const char* name = strerrorname_np(err);
  return name ? name : std::to_string(err);
}

// The tables write spaces and other bytes as %XX.
std::string unquote(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

uint8_t type_of(const std::string& name) {
  uint8_t t = syntax::file_type_from_name(name);
  return t ? t : syntax::kTypeFile;
}

TEST(Engine, AnswersEveryEvalTableRowAsTheTableSays) {
  int rows = 0;
  for (const auto& entry : fs::directory_iterator(fs::path(FSPOL_SOURCE_DIR) / "tests/eval")) {
    if (entry.path().extension() != ".eval") continue;
    std::ifstream in(entry.path());
    std::string line;
    Loaded loaded;
    int number = 0;
    while (std::getline(in, line)) {
      ++number;
      line = line.substr(0, line.find('#'));
      std::istringstream words(line);
      std::string expect, op_name, path;
      if (!(words >> expect)) continue;
      if (expect == "policy:") {
        std::string rel;
        words >> rel;
        loaded = load(entry.path().parent_path() / rel);
        ASSERT_TRUE(loaded.policy) << entry.path();
        continue;
      }
      if (!loaded.engine) continue;
      words >> op_name >> path;
      path = unquote(path);
      ir::Op op;
      ASSERT_TRUE(ir::op_from_name(op_name, op)) << op_name;
      Caller caller;
      std::string comm, to;
      uint8_t type = syntax::kTypeFile;
      for (std::string w; words >> w;) {
        w = unquote(w);
        std::string value = w.substr(w.find('=') + 1);
        if (w.rfind("uid=", 0) == 0) caller.uid = static_cast<uint32_t>(std::stoul(value));
        if (w.rfind("gid=", 0) == 0) caller.gid = static_cast<uint32_t>(std::stoul(value));
        if (w.rfind("comm=", 0) == 0) comm = value;
        if (w.rfind("type=", 0) == 0) type = type_of(value);
        if (w.rfind("to=", 0) == 0) to = value;
      }
      caller.comm = comm;
      int got = serve(*loaded.engine, path, op, type, caller, to);
      EXPECT_EQ(errno_text(got), expect) << entry.path().filename().string() << ":" << number
                                         << ": " << line;
      ++rows;
    }
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
