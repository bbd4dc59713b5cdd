#include "syntax/glob.h"

#include <string_view>

namespace fspol::syntax {

namespace {

// Braces nest; deeper nesting than this is certainly not a real policy.
constexpr int kMaxBraceDepth = 32;

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

class GlobParser {
 public:
  GlobParser(const StringLit& pattern, Diagnostics& diags)
      : raw_(pattern.raw), base_(pattern.range), diags_(diags) {}

  std::optional<Glob> run() {
    if (raw_.empty() || raw_[0] != '/') {
      error(0, raw_.empty() ? 0 : 1, "selector must be an absolute path starting with '/'");
      return std::nullopt;
    }
    Glob glob;
    pos_ = 1;
    if (raw_.size() == 1) return glob;
    while (ok_) {
      size_t begin = pos_;
      if (at_end() || raw_[pos_] == '/') {
        if (at_end() && begin == raw_.size()) {
          error(begin - 1, begin, "selector must not end with '/'");
        } else {
          error(begin, begin + 1, "empty path component ('//')");
        }
        return std::nullopt;
      }
      GlobComponent component;
      if (raw_.compare(pos_, 2, "**") == 0 &&
          (pos_ + 2 == raw_.size() || raw_[pos_ + 2] == '/')) {
        component.globstar = true;
        pos_ += 2;
      } else {
        component.pieces = parse_seq(0);
        if (!ok_) return std::nullopt;
        check_dots(begin, component.pieces);
      }
      glob.components.push_back(std::move(component));
      if (!ok_) return std::nullopt;
      if (at_end()) break;
      ++pos_;  // the '/'
    }
    if (!ok_) return std::nullopt;
    return glob;
  }

 private:
  bool at_end() const { return pos_ >= raw_.size(); }

  void error(size_t begin, size_t end, std::string message) {
    if (!ok_) return;
    ok_ = false;
    // +1 skips the opening quote.
    auto at = [&](size_t offset) { return base_.begin + 1 + static_cast<uint32_t>(offset); };
    diags_.error(SourceRange{base_.file, at(begin), at(std::max(end, begin + 1))},
                 std::move(message));
  }

  // A component made of exactly "." or ".." would escape or alias the tree.
  void check_dots(size_t begin, const GlobSeq& pieces) {
    if (pieces.size() != 1 || pieces[0].kind != GlobPiece::Kind::kLiteral) return;
    if (pieces[0].literal == "." || pieces[0].literal == "..") {
      error(begin, pos_, "'" + pieces[0].literal + "' is not allowed as a selector component");
    }
  }

  void append_literal(GlobSeq& seq, char c) {
    if (seq.empty() || seq.back().kind != GlobPiece::Kind::kLiteral) {
      seq.push_back(GlobPiece{});
    }
    seq.back().literal += c;
  }

  // Reads an escape at pos_ ('\\' already seen at pos_); returns the byte.
  bool read_escape(char& out) {
    size_t begin = pos_;
    ++pos_;
    if (at_end()) {
      error(begin, pos_, "'\\' at the end of a selector escapes nothing");
      return false;
    }
    if (raw_[pos_] == 'x') {
      // The lexer has checked that two hex digits follow.
      int hi = pos_ + 2 < raw_.size() ? hex_value(raw_[pos_ + 1]) : -1;
      int lo = pos_ + 2 < raw_.size() ? hex_value(raw_[pos_ + 2]) : -1;
      if (hi < 0 || lo < 0) {
        error(begin, pos_ + 1, "\\x must be followed by two hex digits");
        return false;
      }
      out = static_cast<char>(hi * 16 + lo);
      pos_ += 3;
    } else {
      out = raw_[pos_++];
    }
    if (out == '/') {
      error(begin, pos_, "a selector component cannot contain an escaped '/'");
      return false;
    }
    if (out == '\0') {
      error(begin, pos_, "a path cannot contain a null byte");
      return false;
    }
    return true;
  }

  // A sequence up to '/', the end, or (inside braces) ',' or '}'.
  GlobSeq parse_seq(int brace_depth) {
    GlobSeq seq;
    while (ok_ && !at_end()) {
      char c = raw_[pos_];
      if (c == '/') {
        if (brace_depth > 0) {
          error(pos_, pos_ + 1,
                "'/' inside {...} is not supported; write one selector per alternative");
        }
        break;
      }
      if (brace_depth > 0 && (c == ',' || c == '}')) break;
      switch (c) {
        case '*':
          if (pos_ + 1 < raw_.size() && raw_[pos_ + 1] == '*') {
            error(pos_, pos_ + 2, "'**' must be a whole path component, as in \"/a/**/b\"");
            return seq;
          }
          ++pos_;
          if (seq.empty() || seq.back().kind != GlobPiece::Kind::kStar) {
            seq.push_back(GlobPiece{GlobPiece::Kind::kStar, {}, {}, {}});
          }
          break;
        case '?':
          ++pos_;
          seq.push_back(GlobPiece{GlobPiece::Kind::kAnyChar, {}, {}, {}});
          break;
        case '[':
          seq.push_back(parse_class());
          break;
        case '{':
          seq.push_back(parse_alternatives(brace_depth));
          break;
        case '}':
          error(pos_, pos_ + 1, "unmatched '}'; escape it as \\}");
          return seq;
        case ']':
          error(pos_, pos_ + 1, "unmatched ']'; escape it as \\]");
          return seq;
        case '\\': {
          char byte = 0;
          if (!read_escape(byte)) return seq;
          append_literal(seq, byte);
          break;
        }
        default:
          append_literal(seq, c);
          ++pos_;
      }
    }
    return seq;
  }

  GlobPiece parse_class() {
    GlobPiece piece{GlobPiece::Kind::kClass, {}, {}, {}};
    size_t open = pos_++;
    bool negated = false;
    if (!at_end() && (raw_[pos_] == '!' || raw_[pos_] == '^')) {
      negated = true;
      ++pos_;
    }
    bool first = true;
    while (ok_) {
      if (at_end()) {
        error(open, open + 1, "unterminated character class; add ']'");
        return piece;
      }
      char c = raw_[pos_];
      if (c == ']' && !first) {
        ++pos_;
        break;
      }
      first = false;
      char lo = 0;
      if (c == '\\') {
        if (!read_escape(lo)) return piece;
      } else if (c == '/') {
        error(pos_, pos_ + 1, "a character class cannot match '/'");
        return piece;
      } else {
        lo = c;
        ++pos_;
      }
      char hi = lo;
      if (pos_ + 1 < raw_.size() && raw_[pos_] == '-' && raw_[pos_ + 1] != ']') {
        size_t range_begin = pos_ - 1;
        ++pos_;
        if (raw_[pos_] == '\\') {
          if (!read_escape(hi)) return piece;
        } else if (raw_[pos_] == '/') {
          error(pos_, pos_ + 1, "a character class cannot match '/'");
          return piece;
        } else {
          hi = raw_[pos_++];
        }
        if (static_cast<unsigned char>(hi) < static_cast<unsigned char>(lo)) {
          error(range_begin, pos_,
                std::string("character range is out of order ('") + lo + "' > '" + hi + "')");
          return piece;
        }
      }
      for (unsigned b = static_cast<unsigned char>(lo); b <= static_cast<unsigned char>(hi); ++b) {
        piece.bytes.set(b);
      }
    }
    if (negated) piece.bytes.flip();
    // Whatever the class says, a component never contains '/' or NUL.
    piece.bytes.reset('/');
    piece.bytes.reset(0);
    if (piece.bytes.none()) error(open, pos_, "character class matches nothing");
    return piece;
  }

  GlobPiece parse_alternatives(int brace_depth) {
    GlobPiece piece{GlobPiece::Kind::kAlternatives, {}, {}, {}};
    size_t open = pos_++;
    if (brace_depth + 1 > kMaxBraceDepth) {
      error(open, open + 1, "braces are nested too deeply (limit " +
                                std::to_string(kMaxBraceDepth) + ")");
      return piece;
    }
    for (;;) {
      piece.alternatives.push_back(parse_seq(brace_depth + 1));
      if (!ok_) return piece;
      if (at_end() || raw_[pos_] == '/') {
        error(open, open + 1, "unterminated '{'; add '}'");
        return piece;
      }
      if (raw_[pos_++] == '}') break;  // else ','
    }
    if (piece.alternatives.size() < 2) {
      error(open, pos_, "'{...}' needs at least two alternatives separated by ','");
    }
    return piece;
  }

  std::string_view raw_;
  SourceRange base_;
  Diagnostics& diags_;
  size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace

std::optional<Glob> parse_glob(const StringLit& pattern, Diagnostics& diags) {
  return GlobParser(pattern, diags).run();
}

}  // namespace fspol::syntax
