#include "syntax/lexer.h"

#include <gtest/gtest.h>

namespace fspol::syntax {
namespace {

struct Lexed {
  SourceManager sources;
  Diagnostics diags;
  LexedFile out;
  FileId id = 0;
};

std::unique_ptr<Lexed> lex(const std::string& text) {
  auto l = std::make_unique<Lexed>();
  l->id = l->sources.add("t", text);
  l->out = run_lexer(l->id, l->sources.file(l->id), l->diags);
  return l;
}

std::vector<TokenKind> kinds(const std::string& text) {
  std::vector<TokenKind> out;
  auto lexed = lex(text);
  for (const Token& t : lexed->out.tokens) out.push_back(t.kind);
  return out;
}

using K = TokenKind;

TEST(Lexer, KeywordsIdentifiersAndPunctuation) {
  EXPECT_EQ(kinds("policy p { hide x; }"),
            (std::vector{K::kPolicy, K::kIdent, K::kLBrace, K::kHide, K::kIdent, K::kSemi,
                         K::kRBrace, K::kEof}));
  EXPECT_EQ(kinds(".. . -> = == != < <= > >= &= |= += -= | ( ) ,"),
            (std::vector{K::kDotDot, K::kDot, K::kArrow, K::kAssign, K::kEq, K::kNe, K::kLt,
                         K::kLe, K::kGt, K::kGe, K::kAndAssign, K::kOrAssign, K::kPlusAssign,
                         K::kMinusAssign, K::kPipe, K::kLParen, K::kRParen, K::kComma, K::kEof}));
  EXPECT_EQ(kinds("hidden Hide _x x9"), (std::vector{K::kIdent, K::kIdent, K::kIdent, K::kIdent,
                                                     K::kEof}));
}

TEST(Lexer, Numbers) {
  auto l = lex("1000 0x3e8 0644 0 10s 500ms 2m 1h 1..5");
  const auto& t = l->out.tokens;
  EXPECT_FALSE(l->diags.has_errors());
  EXPECT_EQ(t[0].value, 1000u);
  EXPECT_EQ(t[1].value, 1000u);
  EXPECT_EQ(t[2].value, 0644u);
  EXPECT_EQ(t[3].value, 0u);
  EXPECT_EQ(t[4].kind, K::kDuration);
  EXPECT_EQ(t[4].value, 10000u);
  EXPECT_EQ(t[5].value, 500u);
  EXPECT_EQ(t[6].value, 120000u);
  EXPECT_EQ(t[7].value, 3600000u);
  EXPECT_EQ(t[8].kind, K::kInt);
  EXPECT_EQ(t[9].kind, K::kDotDot);
  EXPECT_EQ(t[10].kind, K::kInt);
}

TEST(Lexer, NumberErrors) {
  EXPECT_EQ(lex("0812")->diags.all().at(0).message, "invalid digit '8' in octal integer");
  EXPECT_EQ(lex("99999999999999999999999")->diags.all().at(0).message, "integer is too large");
  EXPECT_EQ(lex("10days")->diags.all().at(0).message, "invalid suffix 'days' on integer");
  EXPECT_EQ(lex("0x")->diags.all().at(0).message, "hexadecimal integer has no digits");
}

TEST(Lexer, CommentsAreKeptAside) {
  auto l = lex("# one\nhide /* two\n */ x; # three");
  EXPECT_FALSE(l->diags.has_errors());
  ASSERT_EQ(l->out.comments.size(), 3u);
  EXPECT_FALSE(l->out.comments[0].block);
  EXPECT_TRUE(l->out.comments[1].block);
  EXPECT_EQ(l->out.tokens.size(), 4u);
}

TEST(Lexer, Strings) {
  auto l = lex(R"("/a\*b\"c\x41")");
  EXPECT_FALSE(l->diags.has_errors());
  ASSERT_EQ(l->out.tokens[0].kind, K::kString);
  EXPECT_EQ(l->out.tokens[0].end, 14u);
}

TEST(Lexer, StringErrors) {
  EXPECT_EQ(lex("\"abc\nx")->diags.all().at(0).message, "unterminated string");
  EXPECT_EQ(lex(R"("\x4")")->diags.all().at(0).message, "\\x must be followed by two hex digits");
  EXPECT_EQ(lex("\"a\x01\"")->diags.all().at(0).message,
            "control character 0x01 in string; write it as \\x01");
  EXPECT_EQ(lex("\"a\xff\"")->diags.all().at(0).message,
            "invalid UTF-8 byte 0xff in string; write raw bytes as \\xff");
  EXPECT_FALSE(lex("\"caf\xc3\xa9\"")->diags.has_errors());
}

TEST(Lexer, StrayCharacters) {
  EXPECT_EQ(lex("@")->diags.all().at(0).message, "unexpected character '@'");
  EXPECT_EQ(lex("&&")->diags.all().at(0).message, "'&&' is not an operator; write 'and'");
  EXPECT_EQ(lex("\xe2\x80\x9c")->diags.all().at(0).message, "unexpected character U+201C");
  EXPECT_EQ(lex("\xc0\x80")->diags.all().at(0).message, "invalid UTF-8 byte 0xc0");
  EXPECT_EQ(lex("/* open")->diags.all().at(0).message, "unterminated /* comment");
}

TEST(Lexer, NulByteStopsTheFile) {
  auto l = lex(std::string("hide\0\0\0\0 x", 10));
  EXPECT_EQ(l->diags.error_count(), 1u);
  EXPECT_EQ(l->diags.all().at(0).message, "null byte in policy file; is this a binary file?");
}

TEST(Lexer, KeywordTableRoundTrips) {
  for (auto k = static_cast<int>(K::kPolicy); k <= static_cast<int>(K::kBlockdev); ++k) {
    auto kind = static_cast<K>(k);
    EXPECT_EQ(keyword_kind(token_spelling(kind)), kind) << token_spelling(kind);
  }
}

}  // namespace
}  // namespace fspol::syntax
