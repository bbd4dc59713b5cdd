#include "syntax/printer.h"

#include <algorithm>
#include <cstdio>

namespace fspol::syntax {

namespace {

constexpr size_t kColumnLimit = 100;
constexpr int kIndent = 2;
constexpr int kContinuation = 4;

std::string octal(uint64_t value) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0%03llo", static_cast<unsigned long long>(value));
  return buf;
}

std::string selector_text(const Selector& s) {
  std::string out = file_types_text(s.types);
  if (!out.empty()) out += ' ';
  if (const auto* pattern = std::get_if<StringLit>(&s.target)) {
    out += '"' + pattern->raw + '"';
  } else {
    out += std::get<QualifiedName>(s.target).str();
  }
  return out;
}

std::string id_text(const Id& id) {
  if (const auto* number = std::get_if<uint64_t>(&id.value)) return std::to_string(*number);
  const auto& name = std::get<std::string>(id.value);
  return id.quoted ? quote(name) : name;
}

std::string id_range_text(const IdRange& r) {
  return r.hi ? id_text(r.lo) + ".." + id_text(*r.hi) : id_text(r.lo);
}

// Precedence: or 1, and 2, not 3, primaries 4.
int precedence(const Cond& c) {
  switch (c.kind) {
    case Cond::Kind::kOr: return 1;
    case Cond::Kind::kAnd: return 2;
    case Cond::Kind::kNot: return 3;
    default: return 4;
  }
}

std::string cond_text(const Cond& c, int parent);

std::string compare_text(const Cond& c) {
  static constexpr const char* kOps[] = {"==", "!=", "<", "<=", ">", ">=", "in", "not in"};
  std::string out = c.field == CondField::kUid   ? "uid"
                    : c.field == CondField::kGid ? "gid"
                                                 : "comm";
  out += ' ';
  out += kOps[static_cast<size_t>(c.op)];
  out += ' ';
  if (c.braced) {
    out += '{';
    for (size_t i = 0; i < c.set.size(); ++i) {
      if (i) out += ", ";
      out += id_range_text(c.set[i]);
    }
    out += '}';
  } else {
    out += id_range_text(c.set.front());
  }
  return out;
}

std::string cond_text(const Cond& c, int parent) {
  std::string out;
  switch (c.kind) {
    case Cond::Kind::kBool:
      return c.value ? "true" : "false";
    case Cond::Kind::kCompare:
      return compare_text(c);
    case Cond::Kind::kNot:
      out = "not " + cond_text(*c.operands.front(), 3);
      break;
    case Cond::Kind::kAnd:
    case Cond::Kind::kOr: {
      // Operands that are and/or themselves keep parentheses: a nested
      // and of the same kind must survive a round trip as a tree, and
      // `a or (b and c)` reads better than relying on precedence.
      bool is_and = c.kind == Cond::Kind::kAnd;
      for (size_t i = 0; i < c.operands.size(); ++i) {
        if (i) out += is_and ? " and " : " or ";
        out += cond_text(*c.operands[i], 3);
      }
      break;
    }
  }
  return precedence(c) < parent ? "(" + out + ")" : out;
}

std::string ops_text(const std::vector<OperationRef>& ops) {
  std::string out;
  for (const OperationRef& op : ops) {
    if (!out.empty()) out += ", ";
    out += operation_name(op.op);
  }
  return out;
}

std::string option_value_text(const OptionValue& v) {
  switch (v.kind) {
    case OptionValue::Kind::kBool: return v.number ? "true" : "false";
    case OptionValue::Kind::kInt: return std::to_string(v.number);
    case OptionValue::Kind::kDuration: return v.text;
    case OptionValue::Kind::kString: return '"' + v.text + '"';
    case OptionValue::Kind::kWord: return v.text;
  }
  return "";
}

std::string attr_text(const AttrStmt& a) {
  static constexpr const char* kFields[] = {"mode", "uid", "gid", "atime", "mtime", "ctime"};
  static constexpr const char* kOps[] = {"=", "&=", "|=", "+=", "-=", "map"};
  std::string out = kFields[static_cast<size_t>(a.field)];
  out += ' ';
  out += kOps[static_cast<size_t>(a.op)];
  out += ' ';
  if (a.op == AttrStmt::Op::kMap) {
    out += "{ ";
    for (size_t i = 0; i < a.mappings.size(); ++i) {
      if (i) out += ", ";
      out += id_range_text(a.mappings[i].from) + " -> " + id_range_text(a.mappings[i].to);
    }
    out += " }";
  } else if (a.field == AttrStmt::Field::kMode) {
    out += octal(std::get<uint64_t>(a.value.value));
  } else {
    out += id_text(a.value);
  }
  return out + ';';
}

class Printer {
 public:
  Printer(const ParsedFile& parsed, const SourceFile& source)
      : ast_(parsed.ast), comments_(parsed.comments), text_(source.text()) {}

  std::string run() {
    for (const ImportDecl& import : ast_.imports) {
      begin_item(import.range.begin, 0);
      std::string line = "import ";
      if (const auto* name = std::get_if<QualifiedName>(&import.target)) {
        line += name->str();
      } else {
        line += '"' + std::get<StringLit>(import.target).raw + '"';
      }
      if (import.alias) line += " as " + import.alias->name;
      emit(0, line + ';');
      end_item(import.range.end);
    }
    // Imports and the policy are always apart; a comment right above the
    // policy stays with it.
    if (!ast_.imports.empty()) blank_pending_ = true;
    begin_item(ast_.range.begin, 0);
    emit(0, std::string(ast_.kind == File::Kind::kPolicy ? "policy " : "module ") +
                ast_.name.name + " {");
    end_item(ast_.body.begin + 1);
    first_in_block_ = true;
    for (const Item& item : ast_.items) print_item(item);
    close_block(ast_.body.end - 1, 0);
    flush_comments(static_cast<uint32_t>(text_.size()), 0);
    return out_;
  }

 private:
  bool has_blank_line(uint32_t from, uint32_t to) const {
    if (to <= from) return false;
    size_t newlines = 0;
    for (uint32_t i = from; i < to; ++i) newlines += text_[i] == '\n';
    return newlines >= 2;
  }

  void emit(int indent, const std::string& line) {
    if (blank_pending_ && !out_.empty()) out_ += '\n';
    blank_pending_ = false;
    out_.append(static_cast<size_t>(indent), ' ');
    out_ += line;
    out_ += '\n';
  }

  // Comments before `offset` go on their own lines; a blank line in the
  // source before the next thing printed is kept (once).
  void flush_comments(uint32_t offset, int indent) {
    while (next_comment_ < comments_.size() && comments_[next_comment_].begin < offset) {
      const Comment& c = comments_[next_comment_++];
      if (has_blank_line(last_end_, c.begin) && !first_in_block_) blank_pending_ = true;
      emit(indent, std::string(text_.substr(c.begin, c.end - c.begin)));
      // A comment from inside the previous item comes out after it: never
      // move last_end_ back, or the item's own lines look like blank ones.
      last_end_ = std::max(last_end_, c.end);
      first_in_block_ = false;
    }
  }

  void begin_item(uint32_t begin, int indent) {
    flush_comments(begin, indent);
    if (has_blank_line(last_end_, begin) && !first_in_block_) blank_pending_ = true;
    first_in_block_ = false;
  }

  // A comment that follows the item on the same line, with nothing but
  // blanks between, stays at the end of the item's line.
  void end_item(uint32_t end) {
    last_end_ = end;
    if (next_comment_ >= comments_.size()) return;
    const Comment& c = comments_[next_comment_];
    if (c.begin < end) return;
    std::string_view between = text_.substr(end, c.begin - end);
    if (between.find_first_not_of(" \t") != std::string_view::npos) return;
    // A block comment spanning lines is put on its own line instead.
    std::string_view body = text_.substr(c.begin, c.end - c.begin);
    if (body.find('\n') != std::string_view::npos) return;
    out_.pop_back();  // the newline
    out_ += "  ";
    out_ += body;
    out_ += '\n';
    last_end_ = c.end;
    ++next_comment_;
  }

  void close_block(uint32_t brace, int indent) {
    flush_comments(brace, indent + kIndent);
    blank_pending_ = false;
    emit(indent, "}");
    end_item(brace + 1);
    first_in_block_ = false;
  }

  // Prints `head` followed by the comma-separated `list` and the `tail`
  // words on one line when it fits, else one list element and one tail
  // element per continuation line.
  void emit_wrapped(int indent, const std::string& head, const std::vector<std::string>& list,
                    const std::vector<std::string>& tail, const std::string& end) {
    if (list.empty() && tail.empty()) return emit(indent, head + end);
    std::string line = head;
    for (size_t i = 0; i < list.size(); ++i) line += (i ? ", " : " ") + list[i];
    for (const std::string& t : tail) line += ' ' + t;
    line += end;
    if (static_cast<size_t>(indent) + line.size() <= kColumnLimit) {
      emit(indent, line);
      return;
    }
    std::string pad(static_cast<size_t>(kContinuation), ' ');
    if (list.size() == 1) {
      // One selector stays with the action: `hide "/long/path"`.
      emit_wrapped(indent, head + ' ' + list.front(), {}, tail, end);
      return;
    }
    emit(indent, head);
    for (size_t i = 0; i < list.size(); ++i) {
      bool more = i + 1 < list.size();
      emit(indent, pad + list[i] + (more ? "," : tail.empty() ? end : ""));
    }
    for (size_t i = 0; i < tail.size(); ++i) {
      emit(indent, pad + tail[i] + (i + 1 == tail.size() ? end : ""));
    }
  }

  static std::vector<std::string> selector_texts(const std::vector<Selector>& selectors) {
    std::vector<std::string> out;
    for (const Selector& s : selectors) out.push_back(selector_text(s));
    return out;
  }

  void print_item(const Item& item) {
    begin_item(item_range(item).begin, kIndent);
    if (const auto* lower = std::get_if<LowerDecl>(&item)) {
      emit(kIndent, "lower " + lower->name.name + " = \"" + lower->path.raw + "\";");
    } else if (const auto* option = std::get_if<OptionDecl>(&item)) {
      emit(kIndent, "option " + std::string(option_name(option->option)) + " = " +
                        option_value_text(option->value) + ';');
    } else if (const auto* let = std::get_if<LetDecl>(&item)) {
      emit_wrapped(kIndent, "let " + let->name.name + " =", selector_texts(let->selectors), {},
                   ";");
    } else if (const auto* use = std::get_if<UseDecl>(&item)) {
      emit(kIndent, "use " + use->module.str() + ';');
    } else {
      print_rule(std::get<Rule>(item));
      return;
    }
    end_item(item_range(item).end);
  }

  void print_rule(const Rule& rule) {
    std::string head(rule_keyword(rule.kind));
    if (!rule.ops.empty()) head += ' ' + ops_text(rule.ops) + " on";
    std::vector<std::string> tail;
    if (rule.kind == RuleKind::kRedirect) {
      std::string to = "to " + rule.target_root.name;
      if (rule.target_path) to += " \"" + rule.target_path->raw + '"';
      tail.push_back(to);
    }
    if (rule.kind == RuleKind::kHandle) tail.push_back("with " + rule.handler.name);
    if (rule.errno_value) tail.push_back("errno " + rule.errno_value->name);
    if (rule.tag) tail.push_back("tag \"" + rule.tag->raw + '"');
    if (rule.condition) {
      tail.push_back(std::string(rule.condition->unless ? "unless " : "when ") +
                     cond_text(*rule.condition->expr, 0));
    }
    bool is_block = rule.kind == RuleKind::kAttr || rule.kind == RuleKind::kRename;
    emit_wrapped(kIndent, head, selector_texts(rule.selectors), tail, is_block ? " {" : ";");
    if (!is_block) {
      end_item(rule.range.end);
      return;
    }
    end_item(rule.block.begin + 1);
    first_in_block_ = true;
    int inner = kIndent * 2;
    for (const AttrStmt& a : rule.attrs) {
      begin_item(a.range.begin, inner);
      emit(inner, attr_text(a));
      end_item(a.range.end);
    }
    for (const NameMap& n : rule.names) {
      begin_item(n.range.begin, inner);
      emit(inner, std::string(n.kind == NameMap::Kind::kSuffix ? "suffix" : "prefix") + " \"" +
                      n.from.raw + "\" -> \"" + n.to.raw + "\";");
      end_item(n.range.end);
    }
    close_block(rule.block.end - 1, kIndent);
  }

  const File& ast_;
  const std::vector<Comment>& comments_;
  std::string_view text_;
  std::string out_;
  size_t next_comment_ = 0;
  uint32_t last_end_ = 0;
  bool blank_pending_ = false;
  bool first_in_block_ = true;
};

}  // namespace

std::string quote(std::string_view value) {
  std::string out = "\"";
  for (char ch : value) {
    auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20 || c == 0x7f || c >= 0x80) {
      // Conservative: non-ASCII is escaped too, so output is plain ASCII
      // and always valid UTF-8 whatever the input bytes were.
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += ch;
    }
  }
  return out + '"';
}

std::string format_file(const ParsedFile& parsed, const SourceFile& source) {
  return Printer(parsed, source).run();
}

}  // namespace fspol::syntax
