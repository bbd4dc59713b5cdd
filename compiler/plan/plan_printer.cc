// `fsc compile --emit=plan`: the plan as text and as JSON (plan.h).
#include <map>
#include <set>
#include <sstream>

#include "plan/plan.h"
#include "support/json.h"

namespace fspol::plan {

namespace {

std::string types_text(uint8_t types) {
  static constexpr std::string_view kNames[] = {"file", "dir",     "symlink", "fifo",
                                                "socket", "chardev", "blockdev"};
  if (types == syntax::kTypeAny) return "any";
  std::string out;
  for (int b = 0; b < 7; ++b) {
    if (types & (1u << b)) out += (out.empty() ? "" : "|") + std::string(kNames[b]);
  }
  return out;
}


std::string_view stage_name(bool post) { return post ? "postfilter" : "prefilter"; }

// Every placement in the daemon, with its set, callback and stage.
struct DaemonPlacement {
  uint32_t set;
  Callback cb;
  bool post;
  const Filter* filter;  // where == kDaemon, or a by-name child's `then`
  std::string reason;
  std::vector<uint32_t> rules;
};

std::vector<DaemonPlacement> daemon_placements(const Plan& plan) {
  std::vector<DaemonPlacement> out;
  for (uint32_t s = 0; s < plan.sets.size(); ++s) {
    const ProgramSet& set = plan.sets[s];
    if (set.passthrough) continue;
    for (size_t i = 0; i < kCallbackCount; ++i) {
      for (bool post : {false, true}) {
        const Filter& f = post ? set.filters[i].post : set.filters[i].pre;
        if (f.where == Where::kDaemon) {
          out.push_back({s, static_cast<Callback>(i), post, &f, f.reason, f.rules});
          continue;
        }
        for (const Filter::Child& c : f.children) {
          if (c.decision.then == kUser) {
            out.push_back({s, static_cast<Callback>(i), post, &f, c.decision.then_reason, {}});
          }
        }
      }
    }
  }
  return out;
}

std::string filter_text(const ir::Policy& policy, const Filter& f) {
  std::ostringstream o;
  o << where_name(f.where);
  if (f.where == Where::kDaemon) {
    o << " (" << (f.daemon_result == kUser ? "whole request" : "decides") << "): " << f.reason;
    return o.str();
  }
  if (f.lists) {
    o << ", drops the entries a lookup refuses (this set's lookup filters, by name and type)";
    return o.str();
  }
  if (f.by_name) {
    o << ", by name:";
    for (const Filter::Child& c : f.children) {
      o << "\n      '" << policy.classes[c.cls].example << "'";
      if (c.types) o << " (" << types_text(c.types) << ")";
      for (const Chain& ch : c.decision.chains) o << " " << ch.what << "[" << ch.tests.size() << "]";
      if (c.name_map)
        o << " looks up the lower name (" << policy.rules[*c.name_map].where.str() << ")";
      if (c.decision.child_set >= 0) o << " -> set " << c.decision.child_set;
      if (c.decision.then == kPostfilter) o << " -> postfilter";
      if (c.decision.then == kUserPostfilter) o << " -> daemon postfilter";
      if (c.decision.then == kUser) o << " -> daemon: " << c.decision.then_reason;
    }
    return o.str();
  }
  for (const Chain& ch : f.node.chains) o << " " << ch.what << "[" << ch.tests.size() << "]";
  if (f.node.then == kUserPostfilter) o << " -> daemon postfilter";
  return o.str();
}

}  // namespace

std::string print_plan(const ir::Policy& policy, const Plan& plan) {
  std::ostringstream o;
  const ProfileInfo& profile = profile_info(plan.profile);
  size_t passthrough = 0, kernel = 0, daemon = 0;
  for (const ProgramSet& set : plan.sets) {
    if (set.passthrough) {
      ++passthrough;
      continue;
    }
    for (const Filters& fs : set.filters) {
      for (const Filter* f : {&fs.pre, &fs.post}) {
        kernel += f->where == Where::kKernel;
        daemon += f->where == Where::kDaemon;
      }
    }
  }
  o << "plan of policy '" << policy.name << "' for " << profile.name << " (" << profile.summary
    << ")\n";
  if (profile.node_states) {
    o << "node states: " << plan.sets.size() - passthrough << " decided by one program set (and "
      << passthrough << " without programs)";
  } else {
    o << "program sets: " << plan.sets.size() - passthrough << " (and " << passthrough
      << " node states without programs)";
  }
  o << "; filters: " << kernel << " in BPF, " << daemon << " in the daemon\n";
  o << "daemon: "
    << (needs_daemon(plan) ? "needed" : "not needed (fsrun mounts the view with no_daemon)")
    << "\n";

  auto placements = daemon_placements(plan);
  std::map<uint32_t, std::vector<const DaemonPlacement*>> by_rule;
  std::vector<const DaemonPlacement*> ruleless;
  for (const DaemonPlacement& d : placements) {
    if (d.rules.empty()) ruleless.push_back(&d);
    for (uint32_t r : d.rules) by_rule[r].push_back(&d);
  }
  o << "\nrules not run in the kernel:";
  if (by_rule.empty()) o << " none";
  o << "\n";
  for (const auto& [r, list] : by_rule) {
    const ir::Rule& rule = policy.rules[r];
    o << "  " << rule.where.str() << " " << syntax::rule_keyword(rule.kind) << "\n";
    std::set<std::string> reasons;
    for (const DaemonPlacement* d : list) reasons.insert(d->reason);
    for (const std::string& why : reasons) o << "    " << why << "\n";
  }
  if (!ruleless.empty()) {
    o << "requests the daemon decides for the kernel:\n";
    std::set<std::string> seen;
    for (const DaemonPlacement* d : ruleless) {
      std::string line = std::string(callback_name(d->cb)) + " " +
                         std::string(stage_name(d->post)) + ": " + d->reason;
      if (seen.insert(line).second) o << "  " << line << "\n";
    }
  }
  for (const Plan::Problem& p : plan.problems) {
    o << "\nerror: " << policy.rules[p.rule].where.str() << ": " << p.message << "\n";
  }

  for (uint32_t s = 0; s < plan.sets.size(); ++s) {
    const ProgramSet& set = plan.sets[s];
    o << "\nset " << s << " " << set.name << ": class " << set.cls << " '"
      << policy.classes[set.cls].example << "' (" << types_text(set.types) << ")";
    if (!set.hidden_above.empty()) {
      o << " below conditional hides:";
      for (uint32_t r : set.hidden_above) o << " " << policy.rules[r].where.str();
    }
    if (set.passthrough) o << " passthrough";
    if (set.tracked) o << (set.tracked_dirs_only ? " tracked (directories)" : " tracked");
    o << "\n";
    if (set.passthrough) continue;
    for (size_t i = 0; i < kCallbackCount; ++i) {
      for (bool post : {false, true}) {
        const Filter& f = post ? set.filters[i].post : set.filters[i].pre;
        if (f.where == Where::kNone) continue;
        o << "  " << callback_name(static_cast<Callback>(i)) << " " << stage_name(post) << ": "
          << filter_text(policy, f) << "\n";
      }
    }
  }
  return o.str();
}

std::string print_plan_json(const ir::Policy& policy, const Plan& plan) {
  std::ostringstream o;
  o << "{\n  \"policy\": " << json_quote(policy.name)
    << ",\n  \"target\": " << json_quote(profile_info(plan.profile).name) << ",\n  \"sets\": [";
  for (uint32_t s = 0; s < plan.sets.size(); ++s) {
    const ProgramSet& set = plan.sets[s];
    o << (s ? "," : "") << "\n    {\"id\": " << s << ", \"name\": " << json_quote(set.name)
      << ", \"class\": " << set.cls
      << ", \"example\": " << json_quote(policy.classes[set.cls].example)
      << ", \"types\": " << json_quote(types_text(set.types))
      << ", \"passthrough\": " << (set.passthrough ? "true" : "false")
      << ", \"tracked\": " << (set.tracked ? "true" : "false")
      << ", \"tracked_dirs_only\": " << (set.tracked_dirs_only ? "true" : "false")
      << ", \"filters\": [";
    bool first = true;
    for (size_t i = 0; i < kCallbackCount && !set.passthrough; ++i) {
      for (bool post : {false, true}) {
        const Filter& f = post ? set.filters[i].post : set.filters[i].pre;
        if (f.where == Where::kNone) continue;
        o << (first ? "" : ",") << "\n      {\"callback\": "
          << json_quote(callback_name(static_cast<Callback>(i)))
          << ", \"stage\": " << json_quote(post ? "post" : "pre")
          << ", \"where\": " << json_quote(where_name(f.where));
        if (f.where == Where::kDaemon) {
          o << ", \"result\": " << json_quote(f.daemon_result == kUser ? "whole" : "decides")
            << ", \"reason\": " << json_quote(f.reason) << ", \"rules\": [";
          for (size_t r = 0; r < f.rules.size(); ++r) {
            o << (r ? ", " : "") << json_quote(policy.rules[f.rules[r]].where.str());
          }
          o << "]";
        } else {
          // What this filter may return besides a decision: the stages it
          // hands the request to.
          std::set<std::string> asks;
          auto ask = [&](int then) {
            if (then == kPostfilter) asks.insert("postfilter");
            if (then == kUserPostfilter) asks.insert("daemon postfilter");
            if (then == kUser) asks.insert("daemon");
          };
          ask(f.node.then);
          for (const Filter::Child& c : f.children) ask(c.decision.then);
          if (f.lists) o << ", \"lists\": true";
          if (maps_names(f)) o << ", \"maps_names\": true";
          o << ", \"asks\": [";
          bool first_ask = true;
          for (const std::string& a : asks) {
            o << (first_ask ? "" : ", ") << json_quote(a);
            first_ask = false;
          }
          o << "]";
        }
        o << "}";
        first = false;
      }
    }
    o << (first ? "]}" : "\n    ]}");
  }
  o << "\n  ],\n  \"daemon\": [";
  auto placements = daemon_placements(plan);
  for (size_t i = 0; i < placements.size(); ++i) {
    const DaemonPlacement& d = placements[i];
    o << (i ? "," : "") << "\n    {\"set\": " << d.set
      << ", \"callback\": " << json_quote(callback_name(d.cb))
      << ", \"stage\": " << json_quote(d.post ? "post" : "pre")
      << ", \"reason\": " << json_quote(d.reason) << ", \"rules\": [";
    for (size_t r = 0; r < d.rules.size(); ++r) {
      o << (r ? ", " : "") << json_quote(policy.rules[d.rules[r]].where.str());
    }
    o << "]}";
  }
  o << (placements.empty() ? "]" : "\n  ]")
    << ",\n  \"needs_daemon\": " << (needs_daemon(plan) ? "true" : "false")
    << ",\n  \"problems\": [";
  for (size_t i = 0; i < plan.problems.size(); ++i) {
    o << (i ? ", " : "") << "{\"rule\": " << json_quote(policy.rules[plan.problems[i].rule].where.str())
      << ", \"message\": " << json_quote(plan.problems[i].message) << "}";
  }
  o << "]\n}\n";
  return o.str();
}

}  // namespace fspol::plan
