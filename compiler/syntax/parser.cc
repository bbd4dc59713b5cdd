#include "syntax/parser.h"

#include <array>
#include <utility>

#include "syntax/glob.h"
#include "syntax/lexer.h"

namespace fspol::syntax {

namespace {

struct OperationInfo {
  std::string_view spelling;
  Operation op;
};
constexpr std::array kOperations = {
#define FSPOL_OPERATION(name, spelling, covers) OperationInfo{spelling, Operation::name},
#include "syntax/operations.def"
};

struct ErrnoInfo {
  std::string_view name;
  int value;
};
constexpr std::array kErrnos = {
#define FSPOL_ERRNO(name, value) ErrnoInfo{#name, value},
#include "syntax/errnos.def"
};


struct TypeInfo {
  TokenKind token;
  uint8_t bit;
};
constexpr std::array kTypes = {
    TypeInfo{TokenKind::kFile, kTypeFile},       TypeInfo{TokenKind::kDir, kTypeDir},
    TypeInfo{TokenKind::kSymlink, kTypeSymlink}, TypeInfo{TokenKind::kFifo, kTypeFifo},
    TypeInfo{TokenKind::kSocket, kTypeSocket},   TypeInfo{TokenKind::kChardev, kTypeChardev},
    TypeInfo{TokenKind::kBlockdev, kTypeBlockdev},
};

constexpr std::array kItemKeywords = {
    TokenKind::kLower,  TokenKind::kOption,   TokenKind::kLet,      TokenKind::kUse,
    TokenKind::kHide,   TokenKind::kDeny,     TokenKind::kAllow,    TokenKind::kReadonly,
    TokenKind::kAttr,   TokenKind::kRename,   TokenKind::kCasefold, TokenKind::kRedirect,
    TokenKind::kHandle, TokenKind::kAudit,    TokenKind::kImport,   TokenKind::kPolicy,
    TokenKind::kModule,
};

std::string with_article(const std::string& word) {
  bool vowel = !word.empty() && std::string_view("aeiou").find(word[0]) != std::string_view::npos;
  return (vowel ? "an " : "a ") + word;
}

std::vector<std::string_view> split_words(std::string_view words) {
  std::vector<std::string_view> out;
  while (!words.empty()) {
    size_t comma = words.find(',');
    out.push_back(words.substr(0, comma));
    words = comma == std::string_view::npos ? std::string_view() : words.substr(comma + 1);
  }
  return out;
}

class Parser {
 public:
  Parser(FileId file, const SourceFile& source, LexedFile lexed, Diagnostics& diags)
      : file_(file), text_(source.text()), tokens_(std::move(lexed.tokens)), diags_(diags) {}

  File run() {
    File ast;
    ast.file = file_;
    parse_file(ast);
    return ast;
  }

 private:
  // ---- Token access ----------------------------------------------------

  const Token& tok() const { return tokens_[i_]; }
  const Token& tok_at(size_t j) const { return tokens_[std::min(j, tokens_.size() - 1)]; }
  TokenKind kind() const { return tok().kind; }
  bool at(TokenKind k) const { return kind() == k; }
  const Token& advance() {
    const Token& t = tokens_[i_];
    if (t.kind != TokenKind::kEof) ++i_;
    return t;
  }
  bool accept(TokenKind k) {
    if (!at(k)) return false;
    advance();
    return true;
  }
  SourceRange range(const Token& t) const { return SourceRange{file_, t.begin, t.end}; }
  SourceRange range_from(const Token& first) const {
    const Token& last = tokens_[i_ > 0 ? i_ - 1 : 0];
    return SourceRange{file_, first.begin, std::max(first.end, last.end)};
  }
  // Where a missing token belongs: just after the previous token.
  SourceRange after_previous() const {
    uint32_t end = i_ > 0 ? tokens_[i_ - 1].end : 0;
    return SourceRange{file_, end, end};
  }
  std::string_view text(const Token& t) const { return text_.substr(t.begin, t.end - t.begin); }

  std::string describe(const Token& t) const {
    switch (t.kind) {
      case TokenKind::kEof:
        return "end of file";
      case TokenKind::kIdent:
        return "identifier '" + std::string(text(t)) + "'";
      case TokenKind::kInt:
      case TokenKind::kDuration:
        return std::string(token_spelling(t.kind)) + " '" + std::string(text(t)) + "'";
      case TokenKind::kString: {
        std::string_view s = text(t);
        return s.size() > 40 ? "string " + std::string(s.substr(0, 37)) + "...\""
                             : "string " + std::string(s);
      }
      default:
        return is_keyword(t.kind) ? "keyword '" + std::string(text(t)) + "'"
                                  : "'" + std::string(text(t)) + "'";
    }
  }

  bool first_on_line(size_t j) const {
    if (j == 0) return true;
    return text_.substr(tokens_[j - 1].end, tokens_[j].begin - tokens_[j - 1].end).find('\n') !=
           std::string_view::npos;
  }
  static bool starts_item(TokenKind k) {
    for (TokenKind item : kItemKeywords) {
      if (k == item) return true;
    }
    return false;
  }

  // ---- Errors and recovery ----------------------------------------------

  // An error at a token the lexer already reported would repeat it.
  Diagnostic& error_here(std::string message) {
    if (tok().malformed) return scratch_;
    return diags_.error(range(tok()), message);
  }

  // "expected X, found Y" at the current token.
  Diagnostic& report_expected(std::string_view what) {
    return error_here("expected " + std::string(what) + ", found " + describe(tok()));
  }
  bool expected(std::string_view what) {
    report_expected(what);
    return false;
  }

  // Requires a closing token; reports a missing one just after the previous
  // token, as clang does, because that is where it is missing.
  bool expect_closing(TokenKind k, std::string_view context) {
    if (accept(k)) return true;
    if (tok().malformed) return false;
    diags_.error(after_previous(), "expected '" + std::string(token_spelling(k)) + "' " +
                                       std::string(context));
    return false;
  }

  // Skips the rest of a broken item: through the next ';' or a whole
  // {...} block at this level, stopping before a '}' that closes the
  // enclosing block and before a keyword that starts a new line's item
  // (other than the broken item's own first token).
  void synchronize() {
    if (skip_open_sets()) return;
    int depth = 0;
    while (!at(TokenKind::kEof)) {
      TokenKind k = kind();
      if (depth == 0) {
        if (k == TokenKind::kSemi) {
          advance();
          return;
        }
        if (k == TokenKind::kRBrace) return;
        if (i_ != item_start_ && starts_item(k) && first_on_line(i_)) return;
      }
      if (k == TokenKind::kLBrace) ++depth;
      if (k == TokenKind::kRBrace) {
        --depth;
        if (depth == 0) {
          advance();
          accept(TokenKind::kSemi);
          return;
        }
      }
      advance();
    }
  }

  // ---- Names ---------------------------------------------------------------

  bool parse_ident(Ident& out, std::string_view what) {
    if (at(TokenKind::kIdent)) {
      const Token& t = advance();
      out = Ident{std::string(text(t)), range(t)};
      return true;
    }
    if (is_keyword(kind())) {
      error_here("expected " + std::string(what) + ", found keyword '" +
                 std::string(text(tok())) + "'")
          .note(range(tok()), "'" + std::string(text(tok())) +
                                  "' is a reserved word; choose another name");
      return false;
    }
    return expected(what);
  }

  bool parse_qualified_name(QualifiedName& out, std::string_view what) {
    Ident part;
    if (!parse_ident(part, what)) return false;
    out.parts.push_back(std::move(part));
    while (at(TokenKind::kDot)) {
      advance();
      if (!parse_ident(part, "a name after '.'")) return false;
      out.parts.push_back(std::move(part));
    }
    out.range = SourceRange::cover(out.parts.front().range, out.parts.back().range);
    return true;
  }

  bool parse_string(StringLit& out, std::string_view what) {
    if (!at(TokenKind::kString)) return expected(what);
    const Token& t = advance();
    // The lexer reported it; anything said about its content or about
    // what follows would only repeat that error.
    if (t.malformed) return false;
    std::string_view s = text(t);
    out.raw = std::string(s.substr(1, s.size() - 2));
    out.value = decode_string(out.raw);
    out.range = range(t);
    return true;
  }

  // ---- File structure ---------------------------------------------------------

  void parse_file(File& ast) {
    while (at(TokenKind::kImport) && !diags_.limit_reached()) {
      item_start_ = i_;
      ImportDecl import;
      if (parse_import(import)) {
        ast.imports.push_back(std::move(import));
      } else {
        synchronize();
      }
    }
    if (!at(TokenKind::kPolicy) && !at(TokenKind::kModule)) {
      if (at(TokenKind::kEof)) {
        error_here("expected 'policy NAME { ... }' or 'module NAME { ... }'; the file has none");
        return;
      }
      expected("'policy NAME { ... }' or 'module NAME { ... }'");
      while (!at(TokenKind::kEof) && !at(TokenKind::kPolicy) && !at(TokenKind::kModule)) {
        advance();
      }
      if (at(TokenKind::kEof)) return;
    }
    const Token& keyword = advance();
    ast.kind = keyword.kind == TokenKind::kPolicy ? File::Kind::kPolicy : File::Kind::kModule;
    std::string_view what = ast.kind == File::Kind::kPolicy ? "policy" : "module";
    if (!parse_ident(ast.name, std::string("a ") + std::string(what) + " name")) {
      while (!at(TokenKind::kEof) && !at(TokenKind::kLBrace)) advance();
    }
    ast.header = range_from(keyword);
    parse_body(ast, what);
    ast.range = range_from(keyword);
    if (!at(TokenKind::kEof) && !diags_.limit_reached()) {
      auto& d = error_here("unexpected " + describe(tok()) + " after the end of the " +
                           std::string(what));
      if (at(TokenKind::kPolicy) || at(TokenKind::kModule)) {
        d.note(range(tok()), "a file holds one policy or one module");
      }
    }
  }

  void parse_body(File& ast, std::string_view what) {
    // Without its '{' the body is parsed anyway, so the one mistake does
    // not turn every rule after it into an error.
    bool has_open = at(TokenKind::kLBrace);
    if (!has_open) expected("'{' to open the " + std::string(what));
    const Token& open = has_open ? advance() : tok();
    while (!at(TokenKind::kRBrace) && !at(TokenKind::kEof) && !diags_.limit_reached()) {
      size_t before = i_;
      item_start_ = i_;
      open_sets_ = 0;
      if (!parse_item(ast)) synchronize();
      if (i_ == before) advance();  // never loop without progress
    }
    if (at(TokenKind::kRBrace)) {
      advance();
      ast.body = range_from(open);
      return;
    }
    if (diags_.limit_reached() || tok().malformed) return;
    auto& d = diags_.error(after_previous(), "expected '}' at the end of the " + std::string(what));
    if (has_open) d.note(range(open), "to match this '{'");
  }

  bool parse_import(ImportDecl& out) {
    const Token& keyword = advance();
    if (at(TokenKind::kString)) {
      StringLit path;
      if (!parse_string(path, "a module path")) return false;
      out.target = std::move(path);
    } else {
      QualifiedName name;
      if (!parse_qualified_name(name, "a module name or a quoted file path")) return false;
      out.target = std::move(name);
    }
    if (accept(TokenKind::kAs)) {
      Ident alias;
      if (!parse_ident(alias, "a name after 'as'")) return false;
      out.alias = std::move(alias);
    }
    if (!expect_closing(TokenKind::kSemi, "after the import")) return false;
    out.range = range_from(keyword);
    return true;
  }

  bool parse_item(File& ast) {
    bool in_policy = ast.kind == File::Kind::kPolicy;
    switch (kind()) {
      case TokenKind::kLower:
      case TokenKind::kOption:
        if (!in_policy) {
          error_here("'" + std::string(text(tok())) + "' belongs in a policy, not in a module")
              .note(range(tok()), "the policy that imports this module sets mount settings");
          return false;
        }
        return at(TokenKind::kLower) ? parse_lower(ast) : parse_option(ast);
      case TokenKind::kLet:
        return parse_let(ast);
      case TokenKind::kUse:
        return parse_use(ast);
      case TokenKind::kImport:
        error_here("imports must come before the " +
                   std::string(in_policy ? "policy" : "module"));
        return false;
      case TokenKind::kPolicy:
      case TokenKind::kModule:
        error_here("'" + std::string(text(tok())) + "' cannot be nested")
            .note(range(tok()), "a file holds one policy or one module");
        return false;
      case TokenKind::kHide:
      case TokenKind::kDeny:
      case TokenKind::kAllow:
      case TokenKind::kReadonly:
      case TokenKind::kAttr:
      case TokenKind::kRename:
      case TokenKind::kCasefold:
      case TokenKind::kRedirect:
      case TokenKind::kHandle:
      case TokenKind::kAudit: {
        Rule rule;
        if (!parse_rule(rule)) return false;
        ast.items.emplace_back(std::move(rule));
        return true;
      }
      default:
        break;
    }
    Diagnostic& d = report_expected("a rule or declaration");
    if (at(TokenKind::kIdent)) {
      std::vector<std::string_view> words;
      for (TokenKind k : kItemKeywords) words.push_back(token_spelling(k));
      std::string best = closest_match(text(tok()), words);
      if (!best.empty()) d.note(range(tok()), "did you mean '" + best + "'?");
    }
    return false;
  }

  bool parse_lower(File& ast) {
    const Token& keyword = advance();
    LowerDecl decl;
    if (!parse_ident(decl.name, "a name for the lower root")) return false;
    if (!at(TokenKind::kAssign)) return expected("'=' and the lower root's path");
    advance();
    if (!parse_string(decl.path, "the lower root's path as a string")) return false;
    if (!expect_closing(TokenKind::kSemi, "after the lower root")) return false;
    decl.range = range_from(keyword);
    ast.items.emplace_back(std::move(decl));
    return true;
  }

  bool parse_option(File& ast) {
    const Token& keyword = advance();
    OptionDecl decl;
    if (!parse_ident(decl.name, "an option name")) return false;
    const OptionInfo* info = nullptr;
    for (const OptionInfo& o : option_table()) {
      if (o.spelling == decl.name.name) info = &o;
    }
    if (!info) {
      std::vector<std::string_view> names;
      for (const OptionInfo& o : option_table()) names.push_back(o.spelling);
      auto& d = diags_.error(decl.name.range, "unknown option '" + decl.name.name + "'");
      std::string best = closest_match(decl.name.name, names);
      if (!best.empty()) d.note(decl.name.range, "did you mean '" + best + "'?");
      return false;
    }
    decl.option = info->name;
    if (!at(TokenKind::kAssign)) return expected("'=' and a value");
    advance();
    if (!parse_option_value(*info, decl.value)) return false;
    if (!expect_closing(TokenKind::kSemi, "after the option")) return false;
    decl.range = range_from(keyword);
    ast.items.emplace_back(std::move(decl));
    return true;
  }

  bool parse_option_value(const OptionInfo& info, OptionValue& value) {
    const Token& t = tok();
    value.range = range(t);
    std::string name(info.spelling);
    switch (info.kind) {
      case OptionKind::kBool:
        if (!at(TokenKind::kTrue) && !at(TokenKind::kFalse)) {
          return expected("'true' or 'false' for option '" + name + "'");
        }
        value.kind = OptionValue::Kind::kBool;
        value.number = at(TokenKind::kTrue) ? 1 : 0;
        break;
      case OptionKind::kInt:
        if (!at(TokenKind::kInt)) return expected("an integer for option '" + name + "'");
        value.kind = OptionValue::Kind::kInt;
        value.number = t.value;
        break;
      case OptionKind::kDuration:
        if (!at(TokenKind::kDuration)) {
          error_here("expected a duration for option '" + name + "', found " + describe(t))
              .note(range(t), "durations are written like 500ms, 10s, 5m or 1h");
          return false;
        }
        value.kind = OptionValue::Kind::kDuration;
        value.number = t.value;
        value.text = std::string(text(t));
        break;
      case OptionKind::kString:
      {
        if (!at(TokenKind::kString)) return expected("a string for option '" + name + "'");
        StringLit s;
        if (!parse_string(s, "")) return false;
        value.kind = OptionValue::Kind::kString;
        value.text = std::move(s.raw);
        return true;
      }
      case OptionKind::kEnum: {
        std::vector<std::string_view> words = split_words(info.words);
        std::string allowed;
        for (std::string_view w : words) allowed += (allowed.empty() ? "" : ", ") + std::string(w);
        if (!at(TokenKind::kIdent)) {
          error_here("expected one of " + allowed + " for option '" + name + "', found " +
                     describe(t));
          return false;
        }
        bool known = false;
        for (std::string_view w : words) known = known || w == text(t);
        if (!known) {
          auto& d = error_here("'" + std::string(text(t)) + "' is not a value of option '" +
                               name + "' (" + allowed + ")");
          std::string best = closest_match(text(t), words);
          if (!best.empty()) d.note(range(t), "did you mean '" + best + "'?");
          return false;
        }
        value.kind = OptionValue::Kind::kWord;
        value.text = std::string(text(t));
        break;
      }
    }
    advance();
    return true;
  }

  bool parse_let(File& ast) {
    const Token& keyword = advance();
    LetDecl decl;
    if (!parse_ident(decl.name, "a name for the pattern")) return false;
    if (!at(TokenKind::kAssign)) return expected("'=' and the patterns");
    advance();
    if (!parse_selectors(decl.selectors)) return false;
    if (!expect_closing(TokenKind::kSemi, "after the let")) return false;
    decl.range = range_from(keyword);
    ast.items.emplace_back(std::move(decl));
    return true;
  }

  bool parse_use(File& ast) {
    const Token& keyword = advance();
    UseDecl decl;
    if (!parse_qualified_name(decl.module, "the name of an imported module")) return false;
    if (!expect_closing(TokenKind::kSemi, "after 'use'")) return false;
    decl.range = range_from(keyword);
    ast.items.emplace_back(std::move(decl));
    return true;
  }

  // ---- Rules ----------------------------------------------------------------

  static RuleKind rule_kind(TokenKind k) {
    switch (k) {
#define FSPOL_RULE_KIND(name, layer, takes_ops, default_ops, clauses, caller, block) \
  case TokenKind::name:                                                             \
    return RuleKind::name;
#include "syntax/rule_kinds.def"
      default:
        return RuleKind::kHide;
    }
  }

  bool parse_rule(Rule& rule) {
    const Token& keyword = advance();
    rule.kind = rule_kind(keyword.kind);
    rule.keyword = range(keyword);
    std::string name(text(keyword));
    bool takes_ops = rule_kind_info(rule.kind).takes_ops;
    if (takes_ops && looks_like_operations()) {
      if (!parse_operations(rule.ops)) return false;
    } else if (!takes_ops && looks_like_operations() && at(TokenKind::kIdent)) {
      // `hide read on "/x"`: say what is wrong rather than "unknown let".
      error_here(with_article(name) + " rule does not take operations")
          .note(rule.keyword, "only deny, allow, handle and audit rules name operations");
      return false;
    } else if (rule.kind == RuleKind::kHandle) {
      return expected("the operations to handle, as in 'handle read on \"/logs/**\" with f'");
    }
    if (!parse_selectors(rule.selectors)) return false;
    if (!parse_clauses(rule, name)) return false;
    if (rule_kind_info(rule.kind).block) {
      if (!(rule.kind == RuleKind::kAttr ? parse_attr_block(rule) : parse_rename_block(rule))) {
        return false;
      }
    } else if (!expect_closing(TokenKind::kSemi, "after the " + name + " rule")) {
      return false;
    }
    rule.range = range_from(keyword);
    return true;
  }

  // After an action keyword: `write, create on ...` (operations) versus
  // `"/x", secrets` (selectors). Operations are bare words followed by
  // 'on'; a string right after the words means the 'on' was forgotten.
  bool looks_like_operations() const {
    size_t j = i_;
    for (;;) {
      TokenKind k = tok_at(j).kind;
      if (k != TokenKind::kIdent && k != TokenKind::kRename) return false;
      k = tok_at(++j).kind;
      if (k == TokenKind::kComma) {
        ++j;
        continue;
      }
      return k == TokenKind::kOn || k == TokenKind::kString;
    }
  }

  bool parse_operations(std::vector<OperationRef>& ops) {
    for (;;) {
      const Token& t = advance();
      std::string_view word = text(t);
      const OperationInfo* info = nullptr;
      for (const OperationInfo& o : kOperations) {
        if (o.spelling == word) info = &o;
      }
      if (!info) {
        std::vector<std::string_view> names;
        for (const OperationInfo& o : kOperations) names.push_back(o.spelling);
        auto& d = diags_.error(range(t), "unknown operation '" + std::string(word) + "'");
        std::string best = closest_match(word, names);
        if (!best.empty()) d.note(range(t), "did you mean '" + best + "'?");
      }
      // A wrong word is not a syntax error: parsing goes on so the rest
      // of the rule is checked too.
      for (const OperationRef& seen : ops) {
        if (info && seen.op == info->op) {
          diags_.error(range(t), "operation '" + std::string(word) + "' is listed twice")
              .note(seen.range, "first listed here");
          info = nullptr;
        }
      }
      if (info) ops.push_back(OperationRef{info->op, range(t)});
      if (!accept(TokenKind::kComma)) break;
    }
    if (!at(TokenKind::kOn)) {
      diags_.error(after_previous(), "expected 'on' between the operations and the paths");
      return false;
    }
    advance();
    return true;
  }

  bool parse_selectors(std::vector<Selector>& out) {
    do {
      Selector selector;
      if (!parse_selector(selector)) return false;
      out.push_back(std::move(selector));
    } while (accept(TokenKind::kComma));
    return true;
  }

  static uint8_t type_bit(TokenKind k) {
    for (const TypeInfo& t : kTypes) {
      if (t.token == k) return t.bit;
    }
    return 0;
  }

  bool parse_selector(Selector& out) {
    const Token& first = tok();
    while (uint8_t bit = type_bit(kind())) {
      if (out.types & bit) {
        error_here("file type '" + std::string(text(tok())) + "' is listed twice");
        return false;
      }
      out.types |= bit;
      advance();
      if (!accept(TokenKind::kPipe)) break;
      if (!type_bit(kind())) return expected("a file type after '|'");
    }
    if (at(TokenKind::kString)) {
      StringLit pattern;
      if (!parse_string(pattern, "a path pattern")) return false;
      (void)parse_glob(pattern, diags_);  // a bad glob is reported; parsing goes on
      out.target = std::move(pattern);
    } else if (at(TokenKind::kIdent)) {
      QualifiedName name;
      if (!parse_qualified_name(name, "a pattern name")) return false;
      out.target = std::move(name);
    } else if (out.types) {
      return expected("a path pattern after the file type");
    } else {
      return expected("a path pattern (a quoted glob such as \"/data/**\") or a let name");
    }
    out.range = range_from(first);
    return true;
  }

  bool parse_clauses(Rule& rule, const std::string& name) {
    uint8_t allowed = rule_kind_info(rule.kind).clauses;
    uint8_t seen = 0;
    for (;;) {
      uint8_t clause = at(TokenKind::kErrno)                          ? kClauseErrno
                       : at(TokenKind::kWhen) || at(TokenKind::kUnless) ? kClauseWhen
                       : at(TokenKind::kTo)                             ? kClauseTo
                       : at(TokenKind::kWith)                           ? kClauseWith
                       : at(TokenKind::kTag)                            ? kClauseTag
                                                                        : 0;
      if (!clause) break;
      std::string word(text(tok()));
      if (!(allowed & clause)) {
        auto& d = error_here("'" + word + "' is not valid in " + with_article(name) + " rule");
        if (clause == kClauseErrno && rule.kind == RuleKind::kHide) {
          d.note(range(tok()), "hidden paths always fail with ENOENT");
        } else if (clause == kClauseErrno) {
          d.note(range(tok()), "only deny and readonly rules choose an errno");
        }
        return false;
      }
      if (seen & clause) {
        error_here("a rule has at most one '" +
                   std::string(clause == kClauseWhen ? "when/unless" : word) + "' clause");
        return false;
      }
      seen |= clause;
      bool ok = true;
      switch (clause) {
        case kClauseErrno:
          ok = parse_errno(rule);
          break;
        case kClauseWhen:
          ok = parse_condition(rule);
          break;
        case kClauseTo:
          advance();
          ok = parse_ident(rule.target_root, "the name of a lower root after 'to'");
          if (ok && at(TokenKind::kString)) {
            StringLit path;
            ok = parse_string(path, "a path in the lower root");
            rule.target_path = std::move(path);
          }
          break;
        case kClauseWith:
          advance();
          ok = parse_ident(rule.handler, "the name of a userspace handler after 'with'");
          break;
        case kClauseTag: {
          advance();
          StringLit tag;
          ok = parse_string(tag, "a quoted tag after 'tag'");
          rule.tag = std::move(tag);
          break;
        }
      }
      if (!ok) return false;
    }
    if ((allowed & kClauseTo) && !(seen & kClauseTo)) {
      diags_.error(after_previous(), "a redirect rule needs 'to ROOT', naming a lower root");
      return false;
    }
    if ((allowed & kClauseWith) && !(seen & kClauseWith)) {
      diags_.error(after_previous(), "a handle rule needs 'with HANDLER', naming the handler");
      return false;
    }
    return true;
  }

  bool parse_errno(Rule& rule) {
    const Token& keyword = advance();
    if (!at(TokenKind::kIdent)) {
      error_here("expected an errno name such as EACCES, found " + describe(tok()));
      return false;
    }
    const Token& t = advance();
    std::string_view word = text(t);
    for (const ErrnoInfo& e : kErrnos) {
      if (e.name == word) {
        rule.errno_value = ErrnoRef{std::string(word), e.value, range_from(keyword)};
        return true;
      }
    }
    std::vector<std::string_view> names;
    for (const ErrnoInfo& e : kErrnos) names.push_back(e.name);
    auto& d = diags_.error(range(t), "unknown errno '" + std::string(word) + "'");
    std::string best = closest_match(word, names);
    if (!best.empty()) d.note(range(t), "did you mean '" + best + "'?");
    return true;  // the clause is well-formed; parsing goes on
  }

  // ---- Conditions --------------------------------------------------------------

  bool parse_condition(Rule& rule) {
    const Token& keyword = advance();
    Condition condition;
    condition.unless = keyword.kind == TokenKind::kUnless;
    condition.expr = parse_or(0);
    if (!condition.expr) return false;
    condition.range = range_from(keyword);
    rule.condition = std::move(condition);
    return true;
  }

  bool too_deep(int depth) {
    if (depth < kMaxNesting) return false;
    error_here("condition is nested too deeply (limit " + std::to_string(kMaxNesting) + ")");
    return true;
  }

  CondPtr parse_or(int depth) {
    CondPtr first = parse_and(depth);
    if (!first || !at(TokenKind::kOr)) return first;
    auto node = std::make_unique<Cond>();
    node->kind = Cond::Kind::kOr;
    node->operands.push_back(std::move(first));
    while (accept(TokenKind::kOr)) {
      CondPtr next = parse_and(depth);
      if (!next) return nullptr;
      node->operands.push_back(std::move(next));
    }
    node->range = SourceRange::cover(node->operands.front()->range, node->operands.back()->range);
    return node;
  }

  CondPtr parse_and(int depth) {
    CondPtr first = parse_not(depth);
    if (!first || !at(TokenKind::kAnd)) return first;
    auto node = std::make_unique<Cond>();
    node->kind = Cond::Kind::kAnd;
    node->operands.push_back(std::move(first));
    while (accept(TokenKind::kAnd)) {
      CondPtr next = parse_not(depth);
      if (!next) return nullptr;
      node->operands.push_back(std::move(next));
    }
    node->range = SourceRange::cover(node->operands.front()->range, node->operands.back()->range);
    return node;
  }

  CondPtr parse_not(int depth) {
    if (!at(TokenKind::kNot)) return parse_primary(depth);
    if (too_deep(depth)) return nullptr;
    const Token& keyword = advance();
    CondPtr operand = parse_not(depth + 1);
    if (!operand) return nullptr;
    auto node = std::make_unique<Cond>();
    node->kind = Cond::Kind::kNot;
    node->range = SourceRange::cover(range(keyword), operand->range);
    node->operands.push_back(std::move(operand));
    return node;
  }

  CondPtr parse_primary(int depth) {
    const Token& first = tok();
    if (at(TokenKind::kLParen)) {
      if (too_deep(depth)) return nullptr;
      advance();
      CondPtr inner = parse_or(depth + 1);
      if (!inner) return nullptr;
      if (!at(TokenKind::kRParen)) {
        diags_.error(after_previous(), "expected ')' to close the condition")
            .note(range(first), "to match this '('");
        return nullptr;
      }
      advance();
      return inner;
    }
    if (at(TokenKind::kTrue) || at(TokenKind::kFalse)) {
      auto node = std::make_unique<Cond>();
      node->kind = Cond::Kind::kBool;
      node->value = at(TokenKind::kTrue);
      node->range = range(advance());
      return node;
    }
    if (at(TokenKind::kUid) || at(TokenKind::kGid) || at(TokenKind::kComm)) return parse_compare();
    auto& d = error_here("expected a condition on the caller (uid, gid or comm), found " +
                         describe(tok()));
    if (at(TokenKind::kIdent)) {
      std::string best = closest_match(text(tok()), {"uid", "gid", "comm"});
      if (!best.empty()) d.note(range(tok()), "did you mean '" + best + "'?");
    }
    return nullptr;
  }

  CondPtr parse_compare() {
    const Token& field_token = advance();
    auto node = std::make_unique<Cond>();
    node->kind = Cond::Kind::kCompare;
    node->field = field_token.kind == TokenKind::kUid   ? CondField::kUid
                  : field_token.kind == TokenKind::kGid ? CondField::kGid
                                                         : CondField::kComm;
    bool is_comm = node->field == CondField::kComm;
    std::string field(text(field_token));
    switch (kind()) {
      case TokenKind::kEq: node->op = CompareOp::kEq; break;
      case TokenKind::kNe: node->op = CompareOp::kNe; break;
      case TokenKind::kLt: node->op = CompareOp::kLt; break;
      case TokenKind::kLe: node->op = CompareOp::kLe; break;
      case TokenKind::kGt: node->op = CompareOp::kGt; break;
      case TokenKind::kGe: node->op = CompareOp::kGe; break;
      case TokenKind::kIn: node->op = CompareOp::kIn; break;
      case TokenKind::kNot:
        node->op = CompareOp::kNotIn;
        advance();
        if (!at(TokenKind::kIn)) {
          expected("'in' after 'not'");
          return nullptr;
        }
        break;
      case TokenKind::kAssign: {
        error_here("'=' assigns; compare with '=='");
        return nullptr;
      }
      default:
        expected("a comparison ('==', '!=', '<', '<=', '>', '>=' or 'in') after '" + field +
                 "'");
        return nullptr;
    }
    const Token& op_token = advance();
    if (is_comm && node->op != CompareOp::kEq && node->op != CompareOp::kNe &&
        node->op != CompareOp::kIn && node->op != CompareOp::kNotIn) {
      diags_.error(range(op_token),
                   "process names compare only with '==', '!=', 'in' and 'not in'");
      return nullptr;
    }
    if (node->op == CompareOp::kIn || node->op == CompareOp::kNotIn) {
      if (!parse_id_set(*node, is_comm)) return nullptr;
    } else {
      IdRange value;
      if (!parse_id_range(value, is_comm)) return nullptr;
      if (value.hi) {
        diags_.error(value.range, "a range needs 'in', as in '" + field + " in " +
                                      std::string(text_.substr(value.range.begin,
                                                               value.range.end -
                                                                   value.range.begin)) +
                                      "'");
        return nullptr;
      }
      node->set.push_back(std::move(value));
    }
    node->range = range_from(field_token);
    return node;
  }

  bool parse_id_set(Cond& node, bool is_comm) {
    if (!at(TokenKind::kLBrace)) {
      IdRange value;
      if (!parse_id_range(value, is_comm)) return false;
      node.set.push_back(std::move(value));
      return true;
    }
    const Token& open = advance();
    ++open_sets_;
    node.braced = true;
    while (!at(TokenKind::kRBrace)) {
      IdRange value;
      if (!parse_id_range(value, is_comm)) return false;
      node.set.push_back(std::move(value));
      if (!accept(TokenKind::kComma)) break;
    }
    if (!at(TokenKind::kRBrace)) {
      if (!tok().malformed) {
        diags_.error(after_previous(), "expected '}' to close the set")
            .note(range(open), "to match this '{'");
      }
      return false;
    }
    advance();
    --open_sets_;
    if (node.set.empty()) {
      diags_.error(range_from(open), "empty set; a condition on it would never hold");
      return false;
    }
    return true;
  }

  bool parse_id(Id& out, bool is_comm) {
    const Token& t = tok();
    if (is_comm) {
      if (at(TokenKind::kString)) {
        StringLit s;
        if (!parse_string(s, "")) return false;
        out = Id{std::move(s.value), true, s.range};
        return true;
      }
      auto& d = error_here("expected a process name in double quotes, found " + describe(t));
      if (at(TokenKind::kIdent)) {
        d.note(range(t), "write \"" + std::string(text(t)) + "\"");
      }
      return false;
    }
    if (at(TokenKind::kInt)) {
      out = Id{t.value, false, range(t)};
      advance();
      return true;
    }
    if (at(TokenKind::kIdent)) {
      out = Id{std::string(text(t)), false, range(t)};
      advance();
      return true;
    }
    if (at(TokenKind::kString)) {
      StringLit s;
      if (!parse_string(s, "")) return false;
      out = Id{std::move(s.value), true, s.range};
      return true;
    }
    return expected("a numeric id or a user or group name");
  }

  bool parse_id_range(IdRange& out, bool is_comm) {
    if (!parse_id(out.lo, is_comm)) return false;
    out.range = out.lo.range;
    if (!at(TokenKind::kDotDot)) return true;
    const Token& dots = advance();
    if (is_comm) {
      diags_.error(range(dots), "process names have no ranges");
      return false;
    }
    Id hi;
    if (!parse_id(hi, false)) return false;
    out.range = SourceRange::cover(out.range, hi.range);
    out.hi = std::move(hi);
    return true;
  }

  // ---- Blocks -------------------------------------------------------------------

  // Leaves the sets and maps a broken item left open, up to their '}';
  // a ';' first means the set was never closed and ends the item; then
  // it returns true.
  bool skip_open_sets() {
    while (open_sets_ > 0 && !at(TokenKind::kEof)) {
      TokenKind k = advance().kind;
      if (k == TokenKind::kLBrace) ++open_sets_;
      if (k == TokenKind::kRBrace) --open_sets_;
      if (k == TokenKind::kSemi) {
        open_sets_ = 0;
        return true;
      }
    }
    open_sets_ = 0;
    return false;
  }

  // Statement recovery inside a block: skip to the next ';' or the '}'.
  void synchronize_statement() {
    if (skip_open_sets()) return;
    while (!at(TokenKind::kEof) && !at(TokenKind::kRBrace)) {
      if (advance().kind == TokenKind::kSemi) return;
    }
  }

  template <typename ParseStatement>
  bool parse_block(Rule& rule, ParseStatement parse_statement) {
    if (!at(TokenKind::kLBrace)) {
      return expected("'{' to open the " + std::string(rule_keyword(rule.kind)) + " block");
    }
    const Token& open = advance();
    rule.block.file = file_;
    rule.block.begin = open.begin;
    // A broken statement is skipped and reported; the block itself still
    // closes normally, so the rule needs no further recovery.
    while (!at(TokenKind::kRBrace) && !at(TokenKind::kEof) && !diags_.limit_reached()) {
      size_t before = i_;
      open_sets_ = 0;
      if (!parse_statement()) synchronize_statement();
      if (i_ == before) advance();
    }
    if (!at(TokenKind::kRBrace)) {
      if (!diags_.limit_reached()) {
        diags_.error(after_previous(), "expected '}' to close the " +
                                           std::string(rule_keyword(rule.kind)) + " block")
            .note(range(open), "to match this '{'");
      }
      return false;
    }
    rule.block.end = advance().end;
    if (at(TokenKind::kSemi)) {
      error_here("no ';' after a block");
      advance();
    }
    return true;
  }

  bool parse_attr_block(Rule& rule) {
    return parse_block(rule, [&] {
      AttrStmt stmt;
      if (!parse_attr_stmt(stmt)) return false;
      rule.attrs.push_back(std::move(stmt));
      return true;
    });
  }

  bool parse_attr_stmt(AttrStmt& stmt) {
    const Token& first = tok();
    using Field = AttrStmt::Field;
    switch (kind()) {
      case TokenKind::kMode: stmt.field = Field::kMode; break;
      case TokenKind::kUid: stmt.field = Field::kUid; break;
      case TokenKind::kGid: stmt.field = Field::kGid; break;
      case TokenKind::kAtime: stmt.field = Field::kAtime; break;
      case TokenKind::kMtime: stmt.field = Field::kMtime; break;
      case TokenKind::kCtime: stmt.field = Field::kCtime; break;
      default: {
        auto& d = error_here("expected an attribute (mode, uid, gid, atime, mtime or ctime), "
                             "found " + describe(first));
        if (at(TokenKind::kIdent)) {
          std::string_view w = text(first);
          std::string best = w == "owner" || w == "user"    ? "uid"
                             : w == "group"                 ? "gid"
                             : w == "perms" || w == "chmod" ? "mode"
                                                            : closest_match(w, {"mode", "uid",
                                                                                "gid", "atime",
                                                                                "mtime", "ctime"});
          if (!best.empty()) d.note(range(first), "did you mean '" + best + "'?");
        }
        return false;
      }
    }
    std::string field(text(advance()));
    bool is_id = stmt.field == Field::kUid || stmt.field == Field::kGid;
    using Op = AttrStmt::Op;
    switch (kind()) {
      case TokenKind::kAssign: stmt.op = Op::kSet; break;
      case TokenKind::kAndAssign: stmt.op = Op::kAnd; break;
      case TokenKind::kOrAssign: stmt.op = Op::kOr; break;
      case TokenKind::kPlusAssign: stmt.op = Op::kAdd; break;
      case TokenKind::kMinusAssign: stmt.op = Op::kSub; break;
      case TokenKind::kMap: stmt.op = Op::kMap; break;
      default:
        expected("'=' or another assignment after '" + field + "'");
        return false;
    }
    const Token& op_token = advance();
    bool valid = stmt.field == Field::kMode ? (stmt.op == Op::kSet || stmt.op == Op::kAnd ||
                                               stmt.op == Op::kOr)
                 : is_id                    ? (stmt.op == Op::kSet || stmt.op == Op::kAdd ||
                                               stmt.op == Op::kSub || stmt.op == Op::kMap)
                                            : stmt.op == Op::kSet;
    if (!valid) {
      const char* allowed = stmt.field == Field::kMode ? "'=', '&=' and '|='"
                            : is_id                    ? "'=', '+=', '-=' and 'map'"
                                                       : "'='";
      diags_.error(range(op_token), "'" + field + "' takes " + allowed + ", not '" +
                                        std::string(text(op_token)) + "'");
      return false;
    }
    if (stmt.op == Op::kMap) {
      if (!parse_id_mappings(stmt)) return false;
    } else if (stmt.op == Op::kSet && is_id) {
      if (!parse_id(stmt.value, false)) return false;
    } else {
      if (!at(TokenKind::kInt)) {
        return expected(stmt.field == Field::kMode ? "an octal mode such as 0644"
                        : is_id                    ? "an id offset"
                                                   : "a time in seconds since the epoch");
      }
      stmt.value = Id{tok().value, false, range(tok())};
      advance();
    }
    if (!expect_closing(TokenKind::kSemi, "after the attribute")) return false;
    stmt.range = range_from(first);
    return true;
  }

  bool parse_id_mappings(AttrStmt& stmt) {
    if (!at(TokenKind::kLBrace)) return expected("'{' and mappings such as '0 -> 1000'");
    const Token& open = advance();
    ++open_sets_;
    while (!at(TokenKind::kRBrace)) {
      AttrStmt::Mapping mapping;
      if (!parse_id_range(mapping.from, false)) return false;
      if (!at(TokenKind::kArrow)) return expected("'->' in the mapping");
      advance();
      if (!parse_id_range(mapping.to, false)) return false;
      mapping.range = SourceRange::cover(mapping.from.range, mapping.to.range);
      stmt.mappings.push_back(std::move(mapping));
      if (!accept(TokenKind::kComma)) break;
    }
    if (!at(TokenKind::kRBrace)) {
      if (!tok().malformed) {
        diags_.error(after_previous(), "expected '}' to close the map")
            .note(range(open), "to match this '{'");
      }
      return false;
    }
    advance();
    --open_sets_;
    if (stmt.mappings.empty()) {
      diags_.error(range_from(open), "empty map; write at least one 'from -> to'");
      return false;
    }
    return true;
  }

  bool parse_rename_block(Rule& rule) {
    return parse_block(rule, [&] {
      NameMap map;
      const Token& first = tok();
      if (at(TokenKind::kSuffix) || at(TokenKind::kPrefix)) {
        map.kind = at(TokenKind::kSuffix) ? NameMap::Kind::kSuffix : NameMap::Kind::kPrefix;
        advance();
      } else {
        return expected("'suffix' or 'prefix'");
      }
      if (!parse_string(map.from, "the lower name's part as a string")) return false;
      if (!at(TokenKind::kArrow)) return expected("'->' between the lower and the view name");
      advance();
      if (!parse_string(map.to, "the view name's part as a string")) return false;
      if (!expect_closing(TokenKind::kSemi, "after the name mapping")) return false;
      map.range = range_from(first);
      rule.names.push_back(std::move(map));
      return true;
    });
  }

  FileId file_;
  std::string_view text_;
  std::vector<Token> tokens_;
  Diagnostics& diags_;
  size_t i_ = 0;
  size_t item_start_ = 0;  // where the item being parsed began
  // '{' of sets and maps opened in the current item or block statement and
  // not yet closed: recovery must skip their '}' rather than stop at it.
  int open_sets_ = 0;
  Diagnostic scratch_;  // receives errors that are not worth reporting
};

}  // namespace

std::string decode_string(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  auto hex = [](char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
  auto is_hex = [](char c) {
    return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
  };
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] != '\\' || i + 1 >= raw.size()) {
      out += raw[i];
      continue;
    }
    char c = raw[++i];
    if (c == 'x' && i + 2 < raw.size() && is_hex(raw[i + 1]) && is_hex(raw[i + 2])) {
      out += static_cast<char>(hex(raw[i + 1]) * 16 + hex(raw[i + 2]));
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

ParsedFile run_parser(FileId file, const SourceFile& source, Diagnostics& diags) {
  LexedFile lexed = run_lexer(file, source, diags);
  std::vector<Comment> comments = std::move(lexed.comments);
  File ast = Parser(file, source, std::move(lexed), diags).run();
  return ParsedFile{std::move(ast), std::move(comments)};
}

}  // namespace fspol::syntax
