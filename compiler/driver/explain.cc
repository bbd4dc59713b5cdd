#include "driver/explain.h"

#include <cstdio>
#include <sstream>

#include "ir/ir_printer.h"

namespace fspol::driver {

namespace {

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

std::string attr_text(const sema::AttrRewrite& a) {
  std::vector<std::string> parts;
  char buf[64];
  if (a.mode) {
    std::snprintf(buf, sizeof buf, "mode & 0%03o | 0%03o", a.mode->and_mask, a.mode->or_mask);
    parts.emplace_back(buf);
  }
  auto id = [](const char* field, const sema::IdRewrite& r) {
    switch (r.kind) {
      case sema::IdRewrite::Kind::kSet: return std::string(field) + " = " + std::to_string(r.value);
      case sema::IdRewrite::Kind::kOffset:
        return std::string(field) + (r.offset < 0 ? " -= " : " += ") +
               std::to_string(r.offset < 0 ? -r.offset : r.offset);
      case sema::IdRewrite::Kind::kMap: return std::string(field) + " mapped";
    }
    return std::string();
  };
  if (a.uid) parts.push_back(id("uid", *a.uid));
  if (a.gid) parts.push_back(id("gid", *a.gid));
  if (a.atime) parts.push_back("atime = " + std::to_string(*a.atime));
  if (a.mtime) parts.push_back("mtime = " + std::to_string(*a.mtime));
  if (a.ctime) parts.push_back("ctime = " + std::to_string(*a.ctime));
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : ", ") + p;
  return out;
}

std::string caller_text(const ir::Request& r) {
  std::string out = "uid " + std::to_string(r.caller.uid) + ", gid " + std::to_string(r.caller.gid);
  if (!r.caller.comm.empty()) out += ", comm \"" + r.caller.comm + "\"";
  return out;
}

}  // namespace

std::string explain_text(const ir::Policy& policy, const ir::Request& request,
                         const ir::Verdict& v) {
  std::ostringstream out;
  out << "request:  " << sema::op_name(request.op) << " " << request.path;
  if (request.new_path) out << " -> " << *request.new_path;
  out << " (" << ir::type_text(request.type) << ") by " << caller_text(request) << "\n";
  if (v.error) {
    out << "verdict:  denied: " << v.error_name << ", " << v.reason << "\n";
  } else {
    out << "verdict:  allowed\n";
  }
  const ir::PathClass& pc = policy.classes[v.path_class];
  out << "class:    " << v.path_class << " (like \"" << pc.example << "\")";
  if (v.casefolded) out << ", case-insensitive: matched as " << v.canonical_path;
  out << "\n";
  if (v.steps.empty()) {
    out << "rules:    none apply\n";
  } else {
    out << "rules:\n";
    for (const ir::Step& s : v.steps) {
      const ir::Rule& rule = policy.rules[s.rule];
      out << "  " << s.layer << ": " << s.effect << "\n    rule " << rule.id << " at "
          << rule.where.str() << ": " << ir::rule_text(policy, rule) << "\n";
      for (const ir::SourceRef& via : rule.via) out << "    used at " << via.str() << "\n";
    }
  }
  if (!v.error) {
    out << "lower:    " << v.lower_root << ":" << v.lower_path << "\n";
    std::string attr = attr_text(v.attr);
    if (!attr.empty()) out << "attrs:    " << attr << "\n";
    if (!v.handler.empty()) out << "handler:  " << v.handler << "\n";
    for (const std::string& tag : v.audit_tags) {
      out << "audit:    " << (tag.empty() ? "(no tag)" : tag) << "\n";
    }
  }
  return out.str();
}

std::string explain_json(const ir::Policy& policy, const ir::Request& request,
                         const ir::Verdict& v) {
  std::ostringstream out;
  out << "{\"path\": " << json_string(request.path) << ", \"op\": "
      << json_string(std::string(sema::op_name(request.op)));
  if (request.new_path) out << ", \"to\": " << json_string(*request.new_path);
  out << ", \"type\": " << json_string(ir::type_text(request.type)) << ", \"uid\": "
      << request.caller.uid << ", \"gid\": " << request.caller.gid << ", \"comm\": "
      << json_string(request.caller.comm) << ", \"allowed\": " << (v.error ? "false" : "true")
      << ", \"errno\": " << v.error << ", \"errno_name\": " << json_string(v.error_name)
      << ", \"reason\": " << json_string(v.reason) << ", \"class\": " << v.path_class
      << ", \"class_example\": " << json_string(policy.classes[v.path_class].example)
      << ", \"canonical_path\": " << json_string(v.canonical_path) << ", \"rules\": [";
  for (size_t i = 0; i < v.steps.size(); ++i) {
    const ir::Step& s = v.steps[i];
    const ir::Rule& rule = policy.rules[s.rule];
    out << (i ? ", " : "") << "{\"layer\": " << json_string(s.layer) << ", \"rule\": " << s.rule
        << ", \"effect\": " << json_string(s.effect) << ", \"file\": "
        << json_string(rule.where.file) << ", \"line\": " << rule.where.line
        << ", \"text\": " << json_string(ir::rule_text(policy, rule)) << "}";
  }
  out << "], \"lower_root\": " << json_string(v.lower_root) << ", \"lower_path\": "
      << json_string(v.lower_path) << ", \"attr\": " << json_string(attr_text(v.attr))
      << ", \"handler\": " << json_string(v.handler) << ", \"audit\": [";
  for (size_t i = 0; i < v.audit_tags.size(); ++i) {
    out << (i ? ", " : "") << json_string(v.audit_tags[i]);
  }
  out << "]}\n";
  return out.str();
}

}  // namespace fspol::driver
