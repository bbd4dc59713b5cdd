#include "driver/explain.h"

#include <cstdio>
#include <sstream>

#include "ir/ir_printer.h"
#include "ir/render.h"
#include "support/json.h"

namespace fspol::driver {

namespace {

std::string caller_text(const ir::Request& r) {
  std::string out = "uid " + std::to_string(r.caller.uid) + ", gid " + std::to_string(r.caller.gid);
  if (!r.caller.comm.empty()) out += ", comm \"" + std::string(r.caller.comm) + "\"";
  return out;
}

}  // namespace

std::string explain_text(const ir::Policy& policy, const ir::Request& request,
                         const ir::Verdict& v) {
  std::ostringstream out;
  out << "request:  " << ir::op_name(request.op) << " " << request.path;
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
    std::string attr = ir::attr_text(v.attr);
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
  out << "{\"path\": " << json_quote(request.path) << ", \"op\": "
      << json_quote(std::string(ir::op_name(request.op)));
  if (request.new_path) out << ", \"to\": " << json_quote(*request.new_path);
  out << ", \"type\": " << json_quote(ir::type_text(request.type)) << ", \"uid\": "
      << request.caller.uid << ", \"gid\": " << request.caller.gid << ", \"comm\": "
      << json_quote(std::string(request.caller.comm)) << ", \"allowed\": " << (v.error ? "false" : "true")
      << ", \"errno\": " << v.error << ", \"errno_name\": " << json_quote(v.error_name)
      << ", \"reason\": " << json_quote(v.reason) << ", \"class\": " << v.path_class
      << ", \"class_example\": " << json_quote(policy.classes[v.path_class].example)
      << ", \"canonical_path\": " << json_quote(v.canonical_path) << ", \"rules\": [";
  for (size_t i = 0; i < v.steps.size(); ++i) {
    const ir::Step& s = v.steps[i];
    const ir::Rule& rule = policy.rules[s.rule];
    out << (i ? ", " : "") << "{\"layer\": " << json_quote(s.layer) << ", \"rule\": " << s.rule
        << ", \"effect\": " << json_quote(s.effect) << ", \"file\": "
        << json_quote(rule.where.file) << ", \"line\": " << rule.where.line
        << ", \"text\": " << json_quote(ir::rule_text(policy, rule)) << "}";
  }
  out << "], \"lower_root\": " << json_quote(v.lower_root) << ", \"lower_path\": "
      << json_quote(v.lower_path) << ", \"attr\": " << json_quote(ir::attr_text(v.attr))
      << ", \"handler\": " << json_quote(v.handler) << ", \"audit\": [";
  for (size_t i = 0; i < v.audit_tags.size(); ++i) {
    out << (i ? ", " : "") << json_quote(v.audit_tags[i]);
  }
  out << "]}\n";
  return out.str();
}

}  // namespace fspol::driver
