#pragma once
// Requests walked through the runtime's engine the way the daemon meets
// them (a lookup of each component, then the request's check), and the
// rows of a tests/eval table run that way: shared by the engine's tests
// and the generated stubs' test.

#include <gtest/gtest.h>
#include <string.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "policy/engine.h"

namespace fspol::runtime::eval_rows {

inline std::vector<std::string> components(const std::string& path) {
  std::vector<std::string> out;
  std::istringstream in(path);
  std::string c;
  while (std::getline(in, c, '/')) {
    if (!c.empty()) out.push_back(c);
  }
  return out;
}

// Walks to the parent of `path`; the state of the parent, or an errno.
inline int walk_parent(const Engine& engine, const std::vector<std::string>& parts,
                       const Caller& caller, NodeState& parent) {
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
inline int serve(const Engine& engine, const std::string& path, ir::Op op, uint8_t type,
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

inline std::string errno_text(int err) {
  if (err == 0) return "allow";
  const char* name = strerrorname_np(err);
  return name ? name : std::to_string(err);
}

// The tables write spaces and other bytes as %XX.
inline std::string unquote(const std::string& s) {
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

inline uint8_t type_of(const std::string& name) {
  uint8_t t = syntax::file_type_from_name(name);
  return t ? t : syntax::kTypeFile;
}

// Runs the rows of the table at `table` (tests/eval format) through the
// engine `engine_for` gives for its `policy:` line (null: the policy did
// not load, a failure). Returns the number of rows run.
inline int run_eval_table(
    const std::filesystem::path& table,
    const std::function<const Engine*(const std::filesystem::path&)>& engine_for) {
  std::ifstream in(table);
  std::string line;
  const Engine* engine = nullptr;
  int number = 0, rows = 0;
  while (std::getline(in, line)) {
    ++number;
    line = line.substr(0, line.find('#'));
    std::istringstream words(line);
    std::string expect, op_name, path;
    if (!(words >> expect)) continue;
    if (expect == "policy:") {
      std::string rel;
      words >> rel;
      engine = engine_for(table.parent_path() / rel);
      EXPECT_NE(engine, nullptr) << table;
      continue;
    }
    if (engine == nullptr) continue;
    words >> op_name >> path;
    path = unquote(path);
    ir::Op op;
    EXPECT_TRUE(ir::op_from_name(op_name, op)) << op_name;
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
    int got = serve(*engine, path, op, type, caller, to);
    EXPECT_EQ(errno_text(got), expect)
        << table.filename().string() << ":" << number << ": " << line;
    ++rows;
  }
  return rows;
}

}  // namespace fspol::runtime::eval_rows
