#include "sema/check.h"

#include <algorithm>
#include <array>
#include <map>

#include "syntax/path.h"

namespace fspol::sema {

namespace {

constexpr uint32_t kMaxId = 0xfffffffe;  // (uid_t)-1 means "no change"

// Which atoms may fail with which errno. An errno outside its set is a
// mistake: no such call returns it, and programs would misreport it.
OpSet errno_ops(int value) {
  const OpSet names = bit(Op::kLookup) | bit(Op::kCreate) | bit(Op::kRename) | bit(Op::kLink) |
                      bit(Op::kDelete);
  switch (value) {
    case 1: case 2: case 5: case 12: case 13: case 22: case 38: case 95:
      return kAllOps;  // EPERM ENOENT EIO ENOMEM EACCES EINVAL ENOSYS EOPNOTSUPP
    case 30:  // EROFS
      return kModifyOps | bit(Op::kExec) | bit(Op::kLock);
    case 16:  // EBUSY
      return kModifyOps | bit(Op::kRead) | bit(Op::kExec);
    case 17:  // EEXIST
      return bit(Op::kCreate) | bit(Op::kRename) | bit(Op::kLink) | bit(Op::kXattrWrite);
    case 18:  // EXDEV
      return bit(Op::kRename) | bit(Op::kLink);
    case 20: case 21: case 36: case 40:  // ENOTDIR EISDIR ENAMETOOLONG ELOOP
      return names | bit(Op::kRead) | bit(Op::kWrite) | bit(Op::kExec) | bit(Op::kReaddir) |
             bit(Op::kStat) | bit(Op::kTruncate);
    case 39:  // ENOTEMPTY
      return bit(Op::kDelete) | bit(Op::kRename);
    case 31:  // EMLINK
      return bit(Op::kLink) | bit(Op::kCreate) | bit(Op::kRename);
    case 28: case 122:  // ENOSPC EDQUOT
      return bit(Op::kWrite) | bit(Op::kCreate) | bit(Op::kRename) | bit(Op::kLink) |
             bit(Op::kXattrWrite) | bit(Op::kTruncate) | bit(Op::kChown);
    case 27:  // EFBIG
      return bit(Op::kWrite) | bit(Op::kTruncate);
    case 26:  // ETXTBSY
      return bit(Op::kWrite) | bit(Op::kExec) | bit(Op::kTruncate) | bit(Op::kDelete);
    case 11: case 37: case 35:  // EAGAIN ENOLCK EDEADLK
      return bit(Op::kLock) | bit(Op::kRead) | bit(Op::kWrite);
    case 61: case 34: case 7:  // ENODATA ERANGE E2BIG
      return bit(Op::kXattrRead) | bit(Op::kXattrWrite);
    case 75:  // EOVERFLOW
      return bit(Op::kRead) | bit(Op::kStat) | bit(Op::kWrite);
    case 29:  // ESPIPE
      return bit(Op::kRead) | bit(Op::kWrite);
    case 6: case 19: case 23: case 24:  // ENXIO ENODEV ENFILE EMFILE
      return bit(Op::kRead) | bit(Op::kWrite) | bit(Op::kExec) | bit(Op::kCreate);
    default:
      return kAllOps;
  }
}

const std::array<std::string_view, 92> kCxxKeywords = {
    "alignas", "alignof", "and", "and_eq", "asm", "auto", "bitand", "bitor", "bool", "break",
    "case", "catch", "char", "char8_t", "char16_t", "char32_t", "class", "compl", "concept",
    "const", "consteval", "constexpr", "constinit", "const_cast", "continue", "co_await",
    "co_return", "co_yield", "decltype", "default", "delete", "do", "double", "dynamic_cast",
    "else", "enum", "explicit", "export", "extern", "false", "float", "for", "friend", "goto",
    "if", "inline", "int", "long", "mutable", "namespace", "new", "noexcept", "not", "not_eq",
    "nullptr", "operator", "or", "or_eq", "private", "protected", "public", "register",
    "reinterpret_cast", "requires", "return", "short", "signed", "sizeof", "static",
    "static_assert", "static_cast", "struct", "switch", "template", "this", "thread_local",
    "throw", "true", "try", "typedef", "typeid", "typename", "union", "unsigned", "using",
    "virtual", "void", "volatile", "wchar_t", "while", "xor", "xor_eq"};

// Sorts, merges overlapping and adjacent intervals.
std::vector<Interval> normalize(std::vector<Interval> in) {
  std::sort(in.begin(), in.end(), [](Interval a, Interval b) { return a.lo < b.lo; });
  std::vector<Interval> out;
  for (Interval i : in) {
    if (!out.empty() && uint64_t{i.lo} <= uint64_t{out.back().hi} + 1) {
      out.back().hi = std::max(out.back().hi, i.hi);
    } else {
      out.push_back(i);
    }
  }
  return out;
}

class Checker {
 public:
  Checker(Program& program, SemaContext& ctx) : program_(program), ctx_(ctx) {}

  bool run() {
    uint32_t errors = ctx_.diags.error_count();
    for (Rule& rule : program_.rules) check_rule(rule);
    return ctx_.diags.error_count() == errors;
  }

 private:
  Diagnostic& error(SourceRange where, std::string message) {
    return ctx_.diags.error(where, std::move(message));
  }

  void check_rule(Rule& rule) {
    const syntax::Rule& ast = *rule.ast;
    using K = syntax::RuleKind;
    for (const syntax::OperationRef& op : ast.ops) rule.ops |= expand(op.op);
    const syntax::RuleKindInfo& info = syntax::rule_kind_info(rule.kind);
    if (ast.ops.empty()) {
      rule.ops = info.default_ops == syntax::DefaultOps::kModify ? kModifyOps : kAllOps;
    }
    if (info.clauses & syntax::kClauseErrno) check_errno(rule);
    if (ast.condition) {
      if (!info.caller) {
        error(ast.condition->range, "a " + std::string(syntax::rule_keyword(rule.kind)) +
                                        " rule cannot depend on the caller")
            .note(ast.condition->range,
                  "names and placement must be the same for every caller: the kernel caches them");
      } else {
        rule.condition = condition(*ast.condition->expr);
        if (ast.condition->unless) {
          Condition negated;
          negated.kind = Condition::Kind::kNot;
          negated.operands.push_back(std::move(*rule.condition));
          rule.condition = std::move(negated);
        }
      }
    }
    for (const Selector& s : rule.selectors) check_classes(s);
    switch (rule.kind) {
      case K::kAttr: check_attr(rule); break;
      case K::kRename: check_rename(rule); break;
      case K::kCasefold: check_literal_subtrees(rule, "casefold"); break;
      case K::kRedirect: check_redirect(rule); break;
      case K::kHandle: check_handler(rule); break;
      case K::kAudit:
        if (ast.tag) rule.tag = ast.tag->value;
        break;
      default: break;
    }
  }

  void check_errno(Rule& rule) {
    const syntax::Rule& ast = *rule.ast;
    if (!ast.errno_value) {
      bool readonly = rule.kind == syntax::RuleKind::kReadonly;
      rule.errno_name = readonly ? "EROFS" : "EACCES";
      rule.errno_value = readonly ? 30 : 13;
      for (const Option& o : program_.options) {
        if (!readonly && o.name == syntax::OptionName::kDefaultErrno) {
          rule.errno_name = o.value.text;
          rule.errno_value = o.value.text == "EPERM" ? 1 : o.value.text == "EROFS" ? 30 : 13;
        }
      }
      return;
    }
    rule.errno_name = ast.errno_value->name;
    rule.errno_value = ast.errno_value->value;
    // None of the rule's operations can fail this way: an error. Some of
    // the operations it names: a warning (with the default "all" the
    // errno is taken to be meant for the operations it fits).
    OpSet fits = errno_ops(rule.errno_value);
    OpSet wrong = rule.ops & ~fits;
    if (!wrong) return;
    std::string fits_text = rule.errno_name + " is a result of " + op_set_text(fits);
    if ((rule.ops & fits) == 0) {
      error(ast.errno_value->range, "no " + op_set_text(wrong) + " request fails with " +
                                        rule.errno_name)
          .note(ast.errno_value->range, fits_text + "; pick another errno");
    } else if (!ast.ops.empty()) {
      ctx_.diags
          .warning("errno", ast.errno_value->range,
                   "no " + op_set_text(wrong) + " request fails with " + rule.errno_name)
          .note(ast.errno_value->range, fits_text);
    }
  }

  // ---- Ids and conditions ------------------------------------------------------

  bool resolve_id(const syntax::Id& id, bool group, uint32_t& out) {
    if (const auto* number = std::get_if<uint64_t>(&id.value)) {
      if (*number > kMaxId) {
        error(id.range, std::string(group ? "gid " : "uid ") + std::to_string(*number) +
                            " is out of range (0 to 4294967294)");
        return false;
      }
      out = static_cast<uint32_t>(*number);
      return true;
    }
    const auto& name = std::get<std::string>(id.value);
    auto found = group ? ctx_.ids.group(name) : ctx_.ids.user(name);
    if (found) {
      out = *found;
      return true;
    }
    auto& d = error(id.range, std::string("unknown ") + (group ? "group" : "user") + " '" + name +
                                  "'");
    std::string best =
        closest_match(name, group ? ctx_.ids.group_names() : ctx_.ids.user_names());
    if (!best.empty()) d.note(id.range, "did you mean '" + best + "'?");
    d.note(id.range, "names come from fsc's built-in tables and --users/--groups files");
    return false;
  }

  bool resolve_range(const syntax::IdRange& r, bool group, Interval& out) {
    if (!resolve_id(r.lo, group, out.lo)) return false;
    out.hi = out.lo;
    if (r.hi && !resolve_id(*r.hi, group, out.hi)) return false;
    if (out.hi < out.lo) {
      error(r.range, "empty range: " + std::to_string(out.lo) + " is above " +
                         std::to_string(out.hi));
      return false;
    }
    return true;
  }

  Condition condition(const syntax::Cond& c) {
    using CK = Condition::Kind;
    Condition out;
    switch (c.kind) {
      case syntax::Cond::Kind::kBool:
        out.kind = c.value ? CK::kTrue : CK::kFalse;
        return out;
      case syntax::Cond::Kind::kNot:
      case syntax::Cond::Kind::kAnd:
      case syntax::Cond::Kind::kOr:
        out.kind = c.kind == syntax::Cond::Kind::kNot   ? CK::kNot
                   : c.kind == syntax::Cond::Kind::kAnd ? CK::kAnd
                                                        : CK::kOr;
        for (const syntax::CondPtr& operand : c.operands) out.operands.push_back(condition(*operand));
        return out;
      case syntax::Cond::Kind::kCompare:
        break;
    }
    using Op = syntax::CompareOp;
    bool negate = c.op == Op::kNe || c.op == Op::kNotIn;
    if (c.field == syntax::CondField::kComm) {
      out.kind = CK::kCommIn;
      for (const syntax::IdRange& r : c.set) {
        const auto& name = std::get<std::string>(r.lo.value);
        // The kernel keeps 15 bytes of a process name (TASK_COMM_LEN 16).
        if (name.size() > 15) {
          ctx_.diags.warning("comm-length", r.range,
                             "process names are cut to 15 bytes; \"" + name + "\" never matches")
              .note(r.range, "write the first 15 bytes: \"" + name.substr(0, 15) + "\"");
        }
        out.names.push_back(name);
      }
      std::sort(out.names.begin(), out.names.end());
      out.names.erase(std::unique(out.names.begin(), out.names.end()), out.names.end());
    } else {
      bool group = c.field == syntax::CondField::kGid;
      out.kind = group ? CK::kGidIn : CK::kUidIn;
      std::vector<Interval> ids;
      for (const syntax::IdRange& r : c.set) {
        Interval i;
        if (resolve_range(r, group, i)) ids.push_back(i);
      }
      if (ids.empty()) return out;  // errors reported
      uint32_t v = ids.front().lo;
      switch (c.op) {
        case Op::kLt:
          if (v == 0) return Condition{CK::kFalse, {}, {}, {}};
          ids = {{0, v - 1}};
          break;
        case Op::kLe: ids = {{0, v}}; break;
        case Op::kGt:
          if (v >= kMaxId) return Condition{CK::kFalse, {}, {}, {}};
          ids = {{v + 1, kMaxId}};
          break;
        case Op::kGe: ids = {{v, kMaxId}}; break;
        default: break;
      }
      out.ids = normalize(std::move(ids));
    }
    if (!negate) return out;
    Condition n;
    n.kind = CK::kNot;
    n.operands.push_back(std::move(out));
    return n;
  }

  // ---- Attributes ---------------------------------------------------------------

  void check_attr(Rule& rule) {
    using F = syntax::AttrStmt::Field;
    using O = syntax::AttrStmt::Op;
    std::map<F, SourceRange> seen;
    for (const syntax::AttrStmt& a : rule.ast->attrs) {
      if (a.field != F::kMode) {
        auto [it, inserted] = seen.emplace(a.field, a.range);
        if (!inserted) {
          error(a.range, "this attribute is already rewritten in this block")
              .note(it->second, "first rewritten here");
          continue;
        }
      }
      switch (a.field) {
        case F::kMode: {
          uint64_t value = std::get<uint64_t>(a.value.value);
          if (value > 07777) {
            char octal[32];
            std::snprintf(octal, sizeof octal, "0%llo", static_cast<unsigned long long>(value));
            error(a.value.range, std::string("mode ") + octal +
                                     " is out of range (permission bits 0 to 07777)");
            continue;
          }
          std::string_view written = ctx_.sources.file(a.value.range.file).text().substr(
              a.value.range.begin, a.value.range.end - a.value.range.begin);
          if (value != 0 && written.size() > 0 && written[0] != '0') {
            char octal[16];
            std::snprintf(octal, sizeof octal, "0%llo", static_cast<unsigned long long>(value));
            ctx_.diags
                .warning("decimal-mode", a.value.range,
                         "mode " + std::string(written) + " is decimal (" + octal + " in octal)")
                .note(a.value.range, "modes are octal: did you mean 0" + std::string(written) +
                                         "?");
          }
          ModeRewrite& m = rule.attr.mode ? *rule.attr.mode : rule.attr.mode.emplace();
          auto v = static_cast<uint32_t>(value);
          if (a.op == O::kSet) m = ModeRewrite{0, v};
          if (a.op == O::kAnd) m = ModeRewrite{m.and_mask & v, m.or_mask & v};
          if (a.op == O::kOr) m.or_mask |= v;
          break;
        }
        case F::kUid:
        case F::kGid: {
          bool group = a.field == F::kGid;
          IdRewrite r;
          if (a.op == O::kSet) {
            r.kind = IdRewrite::Kind::kSet;
            if (!resolve_id(a.value, group, r.value)) continue;
          } else if (a.op == O::kAdd || a.op == O::kSub) {
            r.kind = IdRewrite::Kind::kOffset;
            uint64_t k = std::get<uint64_t>(a.value.value);
            if (k > kMaxId) {
              error(a.value.range, "offset " + std::to_string(k) + " is out of range");
              continue;
            }
            r.offset = a.op == O::kAdd ? static_cast<int64_t>(k) : -static_cast<int64_t>(k);
          } else {
            r.kind = IdRewrite::Kind::kMap;
            if (!check_map(a, group, r.mappings)) continue;
          }
          (group ? rule.attr.gid : rule.attr.uid) = std::move(r);
          break;
        }
        case F::kAtime:
        case F::kMtime:
        case F::kCtime: {
          uint64_t t = std::get<uint64_t>(a.value.value);
          if (t > uint64_t{INT64_MAX} / 1000000000) {
            error(a.value.range, "time " + std::to_string(t) + " is out of range");
            continue;
          }
          auto& field = a.field == F::kAtime   ? rule.attr.atime
                        : a.field == F::kMtime ? rule.attr.mtime
                                               : rule.attr.ctime;
          field = static_cast<int64_t>(t);
          break;
        }
      }
    }
  }

  // A map must be one-to-one, so chown through the view can map back.
  bool check_map(const syntax::AttrStmt& a, bool group, std::vector<IdMapping>& out) {
    bool ok = true;
    for (const auto& m : a.mappings) {
      IdMapping mapping;
      if (!resolve_range(m.from, group, mapping.from) || !resolve_range(m.to, group, mapping.to)) {
        ok = false;
        continue;
      }
      uint64_t from_len = uint64_t{mapping.from.hi} - mapping.from.lo;
      uint64_t to_len = uint64_t{mapping.to.hi} - mapping.to.lo;
      if (from_len != to_len) {
        error(m.range, "a map entry must map ranges of the same length (" +
                           std::to_string(from_len + 1) + " ids onto " +
                           std::to_string(to_len + 1) + ")");
        ok = false;
        continue;
      }
      for (const IdMapping& other : out) {
        if (mapping.from.lo <= other.from.hi && other.from.lo <= mapping.from.hi) {
          error(m.from.range, "id " + std::to_string(std::max(mapping.from.lo, other.from.lo)) +
                                  " is mapped twice");
          ok = false;
        } else if (mapping.to.lo <= other.to.hi && other.to.lo <= mapping.to.hi) {
          error(m.to.range, "two ids map onto " +
                                std::to_string(std::max(mapping.to.lo, other.to.lo)) +
                                "; a map must be one-to-one");
          ok = false;
        }
      }
      out.push_back(mapping);
    }
    std::sort(out.begin(), out.end(),
              [](const IdMapping& x, const IdMapping& y) { return x.from.lo < y.from.lo; });
    return ok;
  }

  // ---- Names, placement, handlers ------------------------------------------------

  void check_rename(Rule& rule) {
    for (const syntax::NameMap& n : rule.ast->names) {
      bool ok = true;
      for (const syntax::StringLit* s : {&n.from, &n.to}) {
        if (s->value.find('/') != std::string::npos || s->value.find('\0') != std::string::npos) {
          error(s->range, "a name part cannot contain '/' or a null byte");
          ok = false;
        }
      }
      if (n.from.value.empty() && n.to.value.empty()) {
        error(n.range, "this mapping maps nothing");
        ok = false;
      }
      if (ok) {
        rule.names.push_back(NameMap{n.kind == syntax::NameMap::Kind::kSuffix, n.from.value,
                                     n.to.value});
      }
    }
  }

  bool check_literal_subtrees(const Rule& rule, const char* what) {
    bool ok = true;
    for (const Selector& s : rule.selectors) {
      std::string prefix;
      if (!literal_subtree(s, prefix)) {
        error(s.range, std::string("a ") + what +
                           " rule needs a literal directory, such as \"/data\" or \"/data/**\"");
        ok = false;
      }
    }
    return ok;
  }

  void check_redirect(Rule& rule) {
    const syntax::Rule& ast = *rule.ast;
    rule.target_root = ast.target_root.name;
    bool known = false;
    std::vector<std::string_view> names;
    for (const Lower& l : program_.lowers) {
      known = known || l.name == rule.target_root;
      names.push_back(l.name);
    }
    if (!known) {
      auto& d = error(ast.target_root.range, "unknown lower root '" + rule.target_root + "'");
      std::string best = closest_match(rule.target_root, names);
      if (!best.empty()) d.note(ast.target_root.range, "did you mean '" + best + "'?");
      d.note(ast.target_root.range, "declare it with 'lower " + rule.target_root +
                                        " = \"/path\";' ('main' is the mount's lower directory)");
    }
    rule.target_path = ast.target_path ? ast.target_path->value : "/";
    if (!ast.target_path) return;
    const std::string& p = rule.target_path;
    bool clean = !p.empty() && p[0] == '/' && p.find("//") == std::string::npos &&
                 (p.size() == 1 || p.back() != '/') && p.find('\0') == std::string::npos;
    for (const std::string& component : syntax::path_components(p)) {
      if (component == "." || component == "..") clean = false;
    }
    if (!clean) {
      error(ast.target_path->range,
            "a redirect target must be a clean absolute path inside the lower root "
            "(no '.', '..' or empty components)");
    }
  }

  void check_handler(Rule& rule) {
    const std::string& name = rule.ast->handler.name;
    rule.handler = name;
    bool keyword = std::find(kCxxKeywords.begin(), kCxxKeywords.end(), name) != kCxxKeywords.end();
    bool reserved = name.rfind("__", 0) == 0 || (name.size() > 1 && name[0] == '_' &&
                                                  name[1] >= 'A' && name[1] <= 'Z');
    if (keyword || reserved) {
      error(rule.ast->handler.range, "'" + name + "' cannot name a C++ handler: it is " +
                                         (keyword ? "a C++ keyword" : "reserved in C++"));
    }
  }

  // Classes are byte sets: a non-ASCII character in one is two or more
  // bytes, each matched on its own, which is never what was meant.
  void check_classes(const Selector& s) {
    const std::string& raw = s.pattern;
    bool in_class = false;
    for (size_t i = 0; i < raw.size(); ++i) {
      char c = raw[i];
      if (c == '\\') {
        ++i;
        continue;
      }
      if (!in_class && c == '[') {
        in_class = true;
        if (i + 1 < raw.size() && (raw[i + 1] == '!' || raw[i + 1] == '^')) ++i;
        if (i + 1 < raw.size() && raw[i + 1] == ']') ++i;
      } else if (in_class && c == ']') {
        in_class = false;
      } else if (in_class && static_cast<unsigned char>(c) >= 0x80) {
        auto at = static_cast<uint32_t>(s.range.begin + 1 + i);
        error(SourceRange{s.range.file, at, at + 1},
              "a character class matches single bytes; a non-ASCII character is several")
            .note(s.range, "use alternatives instead, as in {\xc3\xa9,e}");
        return;
      }
    }
  }

  Program& program_;
  SemaContext& ctx_;
};

}  // namespace

bool literal_subtree(const Selector& selector, std::string& prefix) {
  prefix.clear();
  const auto& components = selector.glob.components;
  for (size_t i = 0; i < components.size(); ++i) {
    const syntax::GlobComponent& c = components[i];
    if (c.globstar) {
      if (i + 1 != components.size()) return false;
      break;
    }
    if (c.pieces.size() != 1 || c.pieces[0].kind != syntax::GlobPiece::Kind::kLiteral) {
      return false;
    }
    prefix += '/' + c.pieces[0].literal;
  }
  if (prefix.empty()) prefix = "/";
  return true;
}

std::string literal_prefix(const Selector& selector) {
  std::string prefix;
  for (const syntax::GlobComponent& c : selector.glob.components) {
    if (c.globstar || c.pieces.size() != 1 || c.pieces[0].kind != syntax::GlobPiece::Kind::kLiteral) {
      break;
    }
    prefix += '/' + c.pieces[0].literal;
  }
  return prefix.empty() ? "/" : prefix;
}

bool run_check(Program& program, SemaContext& ctx) { return Checker(program, ctx).run(); }

}  // namespace fspol::sema
