// The printed IR and the reference evaluator cannot disagree: for every
// visible path class of every example, corpus and random policy, the
// decision lists `fsc compile --emit=ir` prints are read back (entries
// with their rule numbers and file types), the first entry that applies
// to a caller is found, and ir_eval on the class's example path must give
// the same answer, operation by operation, for several file types and
// callers; attribute lines likewise.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include "fspol/compiler.h"
#include "ir/decide.h"
#include "ir/ir_eval.h"
#include "ir/ir_printer.h"
#include "ir/ir_verify.h"
#include "ir/render.h"
#include "test_util.h"

namespace fspol {
namespace {

namespace fs = std::filesystem;

// One printed entry: "EPERM [file] when uid != 0 (rule 2)".
struct Printed {
  std::string effect;  // "allow", "EPERM", "ENOENT (hidden)", "mode & 0640 | 0000"
  uint8_t types = 0;
  int rule = -1;  // -1: the final "allow" without a rule
};

uint8_t parse_types(const std::string& text) {
  uint8_t out = 0;
  std::istringstream in(text);
  std::string word;
  while (std::getline(in, word, '|')) {
    for (uint8_t bit = 1; bit != 0 && bit <= syntax::kTypeBlockdev; bit <<= 1) {
      if (syntax::file_types_text(bit) == word) out |= bit;
    }
  }
  return out;
}

std::vector<Printed> parse_list(const std::string& list) {
  std::vector<Printed> out;
  size_t start = 0;
  while (start < list.size()) {
    size_t end = list.find("; ", start);
    std::string item = list.substr(start, end == std::string::npos ? std::string::npos : end - start);
    Printed p;
    size_t rule = item.rfind(" (rule ");
    if (rule != std::string::npos) {
      p.rule = std::stoi(item.substr(rule + 7));
      item = item.substr(0, rule);
    }
    size_t when = item.find(" when ");
    if (when != std::string::npos) item = item.substr(0, when);
    size_t bracket = item.rfind(" [");
    if (bracket != std::string::npos && item.back() == ']') {
      p.types = parse_types(item.substr(bracket + 2, item.size() - bracket - 3));
      item = item.substr(0, bracket);
    }
    p.effect = item;
    out.push_back(p);
    if (end == std::string::npos) break;
    start = end + 2;
  }
  return out;
}

// The printed lines of each class: "ops: list" and "attr: list".
struct ClassLines {
  std::map<std::string, std::string> by_op;  // op name -> decision list
  std::vector<std::string> attr;             // attr lists
};

std::map<uint32_t, ClassLines> parse_ir(const std::string& text) {
  std::map<uint32_t, ClassLines> out;
  std::istringstream in(text);
  std::string line;
  int cls = -1;
  while (std::getline(in, line)) {
    if (line.rfind("class ", 0) == 0) {
      cls = std::stoi(line.substr(6));
      out[cls];
      continue;
    }
    if (cls < 0 || line.rfind("  ", 0) != 0) continue;
    size_t colon = line.find(": ");
    if (colon == std::string::npos) continue;
    std::string head = line.substr(2, colon - 2);
    std::string list = line.substr(colon + 2);
    if (head == "attr") {
      out[cls].attr.push_back(list);
      continue;
    }
    std::istringstream ops(head);
    std::string op;
    while (std::getline(ops, op, ',')) {
      if (!op.empty() && op[0] == ' ') op.erase(0, 1);
      ir::Op parsed;
      if (ir::op_from_name(op, parsed)) out[cls].by_op[op] = list;
    }
  }
  return out;
}

// The callers worth trying: every id and name the policy's conditions
// mention, their neighbours, and root.
// Callers hold views of the process names, which `comms` keeps.
std::vector<ir::Caller> callers_of(const ir::Policy& policy, std::set<std::string>& comms) {
  std::set<uint32_t> uids = {0, 65534}, gids = {0};
  comms = {""};
  std::function<void(const ir::Condition&)> visit = [&](const ir::Condition& c) {
    for (const ir::Interval& i : c.ids) {
      auto& set = c.kind == ir::Condition::Kind::kGidIn ? gids : uids;
      set.insert(i.lo);
      set.insert(i.hi);
      if (i.hi < 0xfffffffe) set.insert(i.hi + 1);
      if (i.lo > 0) set.insert(i.lo - 1);
    }
    for (const std::string& n : c.names) comms.insert(n);
    for (const ir::Condition& o : c.operands) visit(o);
  };
  for (const ir::Rule& r : policy.rules) {
    if (r.condition) visit(*r.condition);
  }
  std::vector<ir::Caller> out;
  for (uint32_t uid : uids) {
    for (uint32_t gid : gids) {
      for (const std::string& comm : comms) out.push_back(ir::Caller{uid, gid, comm});
      if (out.size() > 400) return out;
    }
  }
  return out;
}

// The first printed entry that applies: its effect, and its rule.
const Printed* first_applying(const std::vector<Printed>& list, const ir::Policy& policy,
                              uint8_t type, const ir::Caller& caller) {
  for (const Printed& p : list) {
    if (p.types != 0 && !(p.types & type)) continue;
    if (p.rule >= 0) {
      const ir::Rule& rule = policy.rules[static_cast<size_t>(p.rule)];
      if (rule.condition && !ir::holds(*rule.condition, caller)) continue;
    }
    return &p;
  }
  return nullptr;
}

void check_policy(const std::string& name, const ir::Policy& policy) {
  ir::verify_ir(policy);  // aborts on a broken invariant
  std::map<uint32_t, ClassLines> printed = parse_ir(ir::print_ir(policy));
  std::set<std::string> comms;
  std::vector<ir::Caller> callers = callers_of(policy, comms);
  int checked = 0;
  for (uint32_t c = 0; c < policy.classes.size(); ++c) {
    const ir::PathClass& pc = policy.classes[c];
    if (!pc.visible) continue;
    const ClassLines& lines = printed[c];
    for (size_t o = 0; o < ir::kOpCount; ++o) {
      auto op = static_cast<ir::Op>(o);
      if (op == ir::Op::kRename || op == ir::Op::kLink) continue;  // two paths
      std::string op_name(ir::op_name(op));
      // "no rules": every operation is allowed.
      std::vector<Printed> list(1);
      list[0].effect = "allow";
      if (lines.by_op.count(op_name)) list = parse_list(lines.by_op.at(op_name));
      for (uint8_t type : {syntax::kTypeFile, syntax::kTypeDir, syntax::kTypeSymlink}) {
        for (const ir::Caller& caller : callers) {
          ir::Request request{pc.example, op, caller, type, std::nullopt};
          auto verdict = ir::evaluate(policy, request);
          ASSERT_TRUE(verdict.ok()) << name << " " << pc.example;
          // The class lines describe paths without a hidden ancestor, and
          // the example of a visible class has none hidden from everyone:
          // only a conditional hide of an ancestor may apply here.
          if (verdict->reason.rfind("a parent directory", 0) == 0) {
            ASSERT_FALSE(verdict->steps.empty());
            ASSERT_EQ(verdict->steps.front().layer, "visibility");
            ASSERT_TRUE(policy.rules[verdict->steps.front().rule].condition.has_value())
                << name << ": the example " << pc.example << " of class " << c
                << " is below a directory hidden from everyone";
            continue;
          }
          const Printed* p = first_applying(list, policy, type, caller);
          ASSERT_NE(p, nullptr) << name << ": class " << c << " " << op_name;
          std::string want = p->effect;
          if (want == "ENOENT (hidden)") want = "ENOENT";
          if (want == "EACCES (hidden name)") want = "EACCES";
          std::string got = verdict->error ? verdict->error_name : "allow";
          ASSERT_EQ(got, want) << name << ": class " << c << " (" << pc.example << ") " << op_name
                               << " type " << int(type) << " uid " << caller.uid << " gid "
                               << caller.gid << " comm '" << caller.comm << "': printed "
                               << lines.by_op.count(op_name);
          ++checked;
          if (verdict->error || op != ir::Op::kStat) continue;
          // Attributes: the printed first entry per field is what applies.
          for (const std::string& attr_list : lines.attr) {
            std::vector<Printed> entries = parse_list(attr_list);
            const Printed* a = first_applying(entries, policy, type, caller);
            std::string field = entries.front().effect.substr(0, entries.front().effect.find(' '));
            std::string got_field;
            for (size_t f = 0; f < ir::kAttrFieldCount; ++f) {
              if (ir::attr_field_name(static_cast<ir::AttrField>(f)) == field) {
                got_field = ir::attr_field_text(verdict->attr, static_cast<ir::AttrField>(f));
              }
            }
            EXPECT_EQ(got_field, a ? a->effect : "") << name << ": class " << c << " " << field;
          }
        }
      }
    }
  }
  EXPECT_GT(checked, 0) << name;
}

std::unique_ptr<Compiler> compiler_for_tests() {
  return std::make_unique<Compiler>(testing::tree_compile_options());
}

TEST(DecisionTables, PrintedDecisionsAgreeWithTheEvaluatorOnEveryPolicyInTheTree) {
  int policies = 0;
  for (const fs::path& file : testing::policy_files_in_tree()) {
    auto compiler = compiler_for_tests();
    const Unit* unit = compiler->compile(file.string());
    if (unit == nullptr || !unit->policy) continue;  // modules, and policies with errors
    check_policy(file.filename().string(), *unit->policy);
    ++policies;
  }
  EXPECT_GT(policies, 10);
}

// Random policies over a small vocabulary, so that rules overlap a lot.
std::string random_policy(std::mt19937& rng) {
  const char* selectors[] = {"\"/a\"",        "\"/a/**\"",    "\"/**/b\"",   "\"/*/c\"",
                             "\"/a/*.txt\"",  "dir \"/a\"",   "file \"/**\"", "\"/**/.git/**\"",
                             "dir \"/*/b\"",  "\"/b/**\"",    "\"/\"",        "file \"/a/b\""};
  const char* conditions[] = {"", " when uid == 0", " unless uid in 1000..1999", " when gid == 100",
                              " when comm == \"sh\"", " when uid != 5 and gid != 7"};
  const char* ops[] = {"read", "write", "create", "delete", "read, write", "stat, lookup",
                       "chmod", "all", "modify", "exec"};
  auto pick = [&](auto& array) { return array[rng() % (sizeof array / sizeof array[0])]; };
  std::string out = "policy random {\n";
  int rules = 1 + static_cast<int>(rng() % 8);
  for (int i = 0; i < rules; ++i) {
    std::string sel = pick(selectors);
    if (rng() % 3 == 0) sel += std::string(", ") + pick(selectors);
    switch (rng() % 6) {
      case 0: out += "  hide " + sel + pick(conditions) + ";\n"; break;
      case 1:
        out += std::string("  deny ") + pick(ops) + " on " + sel + " errno EPERM" + pick(conditions) + ";\n";
        break;
      case 2: out += std::string("  allow ") + pick(ops) + " on " + sel + pick(conditions) + ";\n"; break;
      case 3: out += "  readonly " + sel + pick(conditions) + ";\n"; break;
      case 4:
        out += "  attr " + sel + pick(conditions) + " { mode &= 0" + std::to_string(600 + rng() % 100) +
               "; uid = " + std::to_string(rng() % 3) + "; }\n";
        break;
      default: out += std::string("  audit ") + pick(ops) + " on " + sel + pick(conditions) + ";\n"; break;
    }
  }
  return out + "}\n";
}

TEST(DecisionTables, PrintedDecisionsAgreeWithTheEvaluatorOnRandomPolicies) {
  std::mt19937 rng(20261129);
  int compiled = 0;
  for (int i = 0; i < 300; ++i) {
    std::string text = random_policy(rng);
    auto compiler = compiler_for_tests();
    const Unit* unit = compiler->compile_text("random.fspol", text);
    if (unit == nullptr || !unit->policy) continue;  // e.g. a rule that only names hidden paths
    SCOPED_TRACE(text);
    check_policy("random #" + std::to_string(i), *unit->policy);
    if (HasFatalFailure()) return;
    ++compiled;
  }
  EXPECT_GT(compiled, 100);
}

}  // namespace
}  // namespace fspol

namespace fspol {
namespace {

TEST(IrVerifyDeathTest, ABrokenTableAborts) {
  CompileOptions options;
  Compiler compiler(options);
  const Unit* unit = compiler.compile_text(
      "p.fspol", "policy p { deny write on \"/a\" when uid == 1; deny write on \"/a\"; }\n");
  ASSERT_TRUE(unit && unit->policy);
  ir::Policy broken = *unit->policy;
  ir::verify_ir(broken);  // fine as compiled
  auto& list = broken.tables[broken.class_of_state[broken.dfa.step(broken.dfa.run(broken.dfa.start, "a"), '/')]]
                   .access[static_cast<size_t>(ir::Op::kWrite)];
  ASSERT_EQ(list.size(), 2u);
  std::swap(list[0], list[1]);
  EXPECT_DEATH(ir::verify_ir(broken), "internal error: IR of policy 'p': .*");
}

}  // namespace
}  // namespace fspol
