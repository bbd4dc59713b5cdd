#include "syntax/lexer.h"

#include <array>
#include <cstdio>
#include <string>
#include <unordered_map>
#include <utility>

namespace fspol::syntax {

namespace {

constexpr std::array kSpellings = {
#define FSPOL_TOKEN(name, spelling) std::string_view(spelling),
#include "syntax/token.def"
};

constexpr std::array kKinds = {
#define FSPOL_TOKEN(name, spelling) TokenKind::name,
#include "syntax/token.def"
};

bool is_ident_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_ident_char(char c) { return is_ident_start(c) || (c >= '0' && c <= '9'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// Decodes one UTF-8 sequence at s[i]; returns its length (0 if invalid) and
// the code point.
size_t decode_utf8(std::string_view s, size_t i, uint32_t& cp) {
  auto c = static_cast<unsigned char>(s[i]);
  size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  cp = n == 1 ? c : n == 2 ? (c & 0x1fu) : n == 3 ? (c & 0x0fu) : (c & 0x07u);
  for (size_t k = 1; k < n; ++k) {
    auto cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (cc & 0x3fu);
  }
  // Reject overlong forms and surrogates.
  static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return n;
}

std::string hex_byte(unsigned char c) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02x", c);
  return buf;
}

std::string code_point(uint32_t cp) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "U+%04X", cp);
  return buf;
}

class Lexer {
 public:
  Lexer(FileId file, std::string_view text, Diagnostics& diags)
      : file_(file), text_(text), diags_(diags) {}

  LexedFile run() {
    while (!stopped_ && !diags_.limit_reached()) {
      skip_space();
      if (pos_ >= text_.size()) break;
      lex_one();
    }
    auto end = static_cast<uint32_t>(text_.size());
    // After a NUL byte the rest of the file is unread: the parser must not
    // complain about what is "missing" there.
    out_.tokens.push_back(Token{TokenKind::kEof, end, end, 0, stopped_});
    return std::move(out_);
  }

 private:
  SourceRange range(size_t begin, size_t end) const {
    return SourceRange{file_, static_cast<uint32_t>(begin), static_cast<uint32_t>(end)};
  }
  char peek(size_t ahead = 0) const {
    return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0';
  }
  // A token during whose lexing an error was reported is marked, so the
  // parser does not report it again ("expected a duration, found 10sec").
  void emit(TokenKind kind, size_t begin, uint64_t value = 0) {
    out_.tokens.push_back(Token{kind, static_cast<uint32_t>(begin), static_cast<uint32_t>(pos_),
                                value, diags_.error_count() != errors_at_token_});
  }

  void skip_space() {
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
        ++pos_;
      } else if (c == '#') {
        size_t begin = pos_;
        while (pos_ < text_.size() && text_[pos_] != '\n') ++pos_;
        // Trailing \r's belong to the line ending (CRLF, or stray ones
        // before it), not the comment: formatting drops them all at once.
        size_t end = pos_;
        while (end > begin && text_[end - 1] == '\r') --end;
        out_.comments.push_back(
            Comment{static_cast<uint32_t>(begin), static_cast<uint32_t>(end), false});
      } else if (c == '/' && peek(1) == '*') {
        size_t begin = pos_;
        size_t close = text_.find("*/", pos_ + 2);
        if (close == std::string_view::npos) {
          diags_.error(range(begin, begin + 2), "unterminated /* comment")
              .note(range(text_.size(), text_.size()), "the file ends here");
          pos_ = text_.size();
        } else {
          pos_ = close + 2;
        }
        out_.comments.push_back(
            Comment{static_cast<uint32_t>(begin), static_cast<uint32_t>(pos_), true});
      } else {
        break;
      }
    }
  }

  void lex_one() {
    errors_at_token_ = diags_.error_count();
    size_t begin = pos_;
    char c = text_[pos_];
    if (is_ident_start(c)) return lex_word();
    if (is_digit(c)) return lex_number();
    if (c == '"') return lex_string();
    ++pos_;
    auto two = [&](char next, TokenKind yes, TokenKind no) {
      if (peek() == next) {
        ++pos_;
        emit(yes, begin);
      } else {
        emit(no, begin);
      }
    };
    switch (c) {
      case '{': return emit(TokenKind::kLBrace, begin);
      case '}': return emit(TokenKind::kRBrace, begin);
      case '(': return emit(TokenKind::kLParen, begin);
      case ')': return emit(TokenKind::kRParen, begin);
      case ';': return emit(TokenKind::kSemi, begin);
      case ',': return emit(TokenKind::kComma, begin);
      case '.': return two('.', TokenKind::kDotDot, TokenKind::kDot);
      case '=': return two('=', TokenKind::kEq, TokenKind::kAssign);
      case '<': return two('=', TokenKind::kLe, TokenKind::kLt);
      case '>': return two('=', TokenKind::kGe, TokenKind::kGt);
      case '|':
        if (peek() == '|') {
          ++pos_;
          diags_.error(range(begin, pos_), "'||' is not an operator; write 'or'");
          return emit(TokenKind::kOr, begin);
        }
        return two('=', TokenKind::kOrAssign, TokenKind::kPipe);
      case '&':
        if (peek() == '=') {
          ++pos_;
          return emit(TokenKind::kAndAssign, begin);
        }
        if (peek() == '&') {
          ++pos_;
          diags_.error(range(begin, pos_), "'&&' is not an operator; write 'and'");
          return emit(TokenKind::kAnd, begin);
        }
        diags_.error(range(begin, pos_), "unexpected character '&'")
            .note(range(begin, pos_), "did you mean '&=' or 'and'?");
        return emit(TokenKind::kAndAssign, begin);
      case '!':
        if (peek() == '=') {
          ++pos_;
          return emit(TokenKind::kNe, begin);
        }
        diags_.error(range(begin, pos_), "'!' is not an operator; write 'not'");
        return emit(TokenKind::kNot, begin);
      case '+':
      case '-':
        if (peek() == '=') {
          ++pos_;
          return emit(c == '+' ? TokenKind::kPlusAssign : TokenKind::kMinusAssign, begin);
        }
        if (c == '-' && peek() == '>') {
          ++pos_;
          return emit(TokenKind::kArrow, begin);
        }
        diags_.error(range(begin, pos_), std::string("unexpected character '") + c + "'");
        return;
      case '\'':
        diags_.error(range(begin, pos_), "strings are written in double quotes");
        return skip_quoted(begin, "'");
      case '\0':
        diags_.error(range(begin, pos_), "null byte in policy file; is this a binary file?");
        stopped_ = true;
        return;
      default:
        break;
    }
    pos_ = begin;
    lex_stray();
  }

  // A string in the wrong quotes becomes one malformed string token, so
  // the mistake yields one error rather than one per character.
  void skip_quoted(size_t begin, std::string_view close) {
    size_t end = text_.find(close, pos_);
    size_t line_end = text_.find('\n', pos_);
    if (end != std::string_view::npos && end < line_end) pos_ = end + close.size();
    emit(TokenKind::kString, begin);
  }

  void lex_stray() {
    size_t begin = pos_;
    auto c = static_cast<unsigned char>(text_[pos_]);
    uint32_t cp = 0;
    size_t n = decode_utf8(text_, pos_, cp);
    if (n == 0) {
      ++pos_;
      diags_.error(range(begin, pos_), "invalid UTF-8 byte " + hex_byte(c));
      return;
    }
    pos_ += n;
    if (cp < 0x80) {
      std::string shown = cp >= 0x20 && cp < 0x7f ? std::string("'") + static_cast<char>(cp) + "'"
                                                   : hex_byte(c);
      diags_.error(range(begin, pos_), "unexpected character " + shown);
      return;
    }
    auto& d = diags_.error(range(begin, pos_), "unexpected character " + code_point(cp));
    if (cp == 0x201c || cp == 0x201d) {
      d.note(range(begin, pos_), "did you mean '\"'?");
      if (cp == 0x201c) skip_quoted(begin, "\xe2\x80\x9d");
    }
  }

  void lex_word() {
    size_t begin = pos_;
    while (pos_ < text_.size() && is_ident_char(text_[pos_])) ++pos_;
    emit(keyword_kind(text_.substr(begin, pos_ - begin)), begin);
  }

  // Integers: decimal, 0x hex, 0-prefixed octal (modes are written 0644).
  // A unit suffix (ms, s, m, h) makes a duration.
  void lex_number() {
    size_t begin = pos_;
    unsigned base = 10;
    if (text_[pos_] == '0' && (peek(1) == 'x' || peek(1) == 'X')) {
      base = 16;
      pos_ += 2;
    } else if (text_[pos_] == '0' && is_digit(peek(1))) {
      base = 8;
      ++pos_;
    }
    size_t digits_begin = pos_;
    uint64_t value = 0;
    bool overflow = false;
    bool bad_digit = false;
    while (pos_ < text_.size() && (base == 16 ? is_hex(text_[pos_]) : is_digit(text_[pos_]))) {
      char d = text_[pos_];
      unsigned digit = is_digit(d) ? unsigned(d - '0') : unsigned((d | 0x20) - 'a' + 10);
      if (digit >= base) {
        if (!bad_digit) {
          diags_.error(range(pos_, pos_ + 1),
                       std::string("invalid digit '") + d + "' in octal integer")
              .note(range(begin, begin + 1),
                    "a leading 0 makes an integer octal; remove it for a decimal number");
        }
        bad_digit = true;
      }
      if (value > (UINT64_MAX - digit) / base) overflow = true;
      value = value * base + digit;
      ++pos_;
    }
    if (base == 16 && pos_ == digits_begin) {
      diags_.error(range(begin, pos_), "hexadecimal integer has no digits");
    }
    if (overflow) {
      diags_.error(range(begin, pos_), "integer is too large");
      value = 0;
    }
    size_t suffix_begin = pos_;
    while (pos_ < text_.size() && is_ident_char(text_[pos_])) ++pos_;
    std::string_view suffix = text_.substr(suffix_begin, pos_ - suffix_begin);
    if (suffix.empty()) return emit(TokenKind::kInt, begin, value);
    uint64_t scale = suffix == "ms" ? 1 : suffix == "s" ? 1000 : suffix == "m" ? 60000
                   : suffix == "h" ? 3600000 : 0;
    if (scale == 0 || base != 10) {
      diags_.error(range(suffix_begin, pos_),
                   "invalid suffix '" + std::string(suffix) + "' on integer")
          .note(range(suffix_begin, pos_), "durations are written like 500ms, 10s, 5m or 1h");
      return emit(TokenKind::kInt, begin, value);
    }
    if (value > UINT64_MAX / scale) {
      diags_.error(range(begin, pos_), "duration is too large");
      value = 0;
    }
    emit(TokenKind::kDuration, begin, value * scale);
  }

  // Strings stay raw in the token; the parser decodes them. Here we only
  // check them: one line, valid UTF-8, no control bytes, well-formed \x.
  void lex_string() {
    size_t begin = pos_++;
    for (;;) {
      if (pos_ >= text_.size() || text_[pos_] == '\n' || text_[pos_] == '\r') {
        diags_.error(range(begin, begin + 1), "unterminated string")
            .note(range(pos_, pos_), "strings end on the line they start");
        return emit(TokenKind::kString, begin);
      }
      auto c = static_cast<unsigned char>(text_[pos_]);
      if (c == '"') {
        ++pos_;
        return emit(TokenKind::kString, begin);
      }
      if (c == '\\') {
        char next = peek(1);
        if (next == 'x') {
          if (!(is_hex(peek(2)) && is_hex(peek(3)))) {
            diags_.error(range(pos_, pos_ + 2), "\\x must be followed by two hex digits");
            pos_ += 2;
            continue;
          }
          pos_ += 4;
          continue;
        }
        if (next == '"' || next == '\\') {
          pos_ += 2;
          continue;
        }
        // Before a line break or NUL the backslash escapes nothing; any
        // other escaped character is checked like an unescaped one.
        ++pos_;
        continue;
      }
      if (c == 0) {
        diags_.error(range(pos_, pos_ + 1), "null byte in policy file; is this a binary file?");
        stopped_ = true;
        return emit(TokenKind::kString, begin);
      }
      if (c < 0x20 || c == 0x7f) {
        if (c != '\t') {
          diags_.error(range(pos_, pos_ + 1),
                       "control character " + hex_byte(c) + " in string; write it as \\x" +
                           hex_byte(c).substr(2));
        }
        ++pos_;
        continue;
      }
      uint32_t cp = 0;
      size_t n = decode_utf8(text_, pos_, cp);
      if (n == 0) {
        diags_.error(range(pos_, pos_ + 1),
                     "invalid UTF-8 byte " + hex_byte(c) + " in string; write raw bytes as \\x" +
                         hex_byte(c).substr(2));
        n = 1;
      }
      pos_ += n;
    }
  }

  FileId file_;
  std::string_view text_;
  Diagnostics& diags_;
  size_t pos_ = 0;
  uint32_t errors_at_token_ = 0;
  bool stopped_ = false;
  LexedFile out_;
};

}  // namespace

std::string_view token_spelling(TokenKind kind) { return kSpellings[static_cast<size_t>(kind)]; }

bool is_keyword(TokenKind kind) { return kind >= TokenKind::kPolicy; }

TokenKind keyword_kind(std::string_view word) {
  // Built once; identifiers are the most common token, so this lookup is
  // on the lexer's hot path.
  static const auto* const kKeywords = [] {
    auto* map = new std::unordered_map<std::string_view, TokenKind>();
    for (size_t i = static_cast<size_t>(TokenKind::kPolicy); i < kKinds.size(); ++i) {
      map->emplace(kSpellings[i], kKinds[i]);
    }
    return map;
  }();
  auto it = kKeywords->find(word);
  return it == kKeywords->end() ? TokenKind::kIdent : it->second;
}

LexedFile run_lexer(FileId file, const SourceFile& source, Diagnostics& diags) {
  return Lexer(file, source.text(), diags).run();
}

}  // namespace fspol::syntax
