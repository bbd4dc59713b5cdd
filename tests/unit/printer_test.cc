#include "syntax/printer.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace fspol::syntax {
namespace {

using fspol::testing::parse;

std::string fmt(const std::string& text) {
  auto p = parse(text);
  EXPECT_FALSE(p->diags.has_errors()) << p->errors();
  return format_file(p->file, p->sources.file(p->id));
}

TEST(Printer, CanonicalLayout) {
  EXPECT_EQ(fmt("policy   p{hide\"/x\"  ;deny write,create on \"/y\" when uid==0 errno EPERM;}"),
            "policy p {\n"
            "  hide \"/x\";\n"
            "  deny write, create on \"/y\" errno EPERM when uid == 0;\n"
            "}\n");
}

TEST(Printer, ModesPrintInOctalAndIdsInDecimal) {
  EXPECT_EQ(fmt("policy p { attr \"/x\" { mode = 420; uid = 0x3e8; } }"),
            "policy p {\n  attr \"/x\" {\n    mode = 0644;\n    uid = 1000;\n  }\n}\n");
}

TEST(Printer, MinimalParenthesesButAndInsideOrIsGrouped) {
  EXPECT_EQ(fmt("policy p { hide \"/x\" when ((uid == 0)) or gid == 1 and not (uid == 2 or uid == 3); }"),
            "policy p {\n  hide \"/x\" when uid == 0 or (gid == 1 and not (uid == 2 or uid == 3));\n}\n");
}

TEST(Printer, CommentsStayWhereTheyBelong) {
  std::string text =
      "# header\n"
      "\n"
      "policy p {  # opening\n"
      "  # before hide\n"
      "  hide \"/x\";   # trailing\n"
      "\n"
      "\n"
      "  /* block */\n"
      "  attr \"/y\" {\n"
      "    # inside\n"
      "    mode = 0644;\n"
      "    # last inside\n"
      "  }\n"
      "  # last\n"
      "}\n"
      "# after\n";
  EXPECT_EQ(fmt(text),
            "# header\n"
            "\n"
            "policy p {  # opening\n"
            "  # before hide\n"
            "  hide \"/x\";  # trailing\n"
            "\n"
            "  /* block */\n"
            "  attr \"/y\" {\n"
            "    # inside\n"
            "    mode = 0644;\n"
            "    # last inside\n"
            "  }\n"
            "  # last\n"
            "}\n"
            "# after\n");
}

// Found by the fuzzer: each pass dropped one of a comment's trailing
// carriage returns, so formatting was not a fixed point.
TEST(Printer, CarriageReturnsEndingACommentGoAtOnce) {
  std::string once = fmt("# note\r\r\r\r\npolicy p {\r\n  hide \"/x\";\r\n}\r\n");
  EXPECT_EQ(once, "# note\npolicy p {\n  hide \"/x\";\n}\n");
  EXPECT_EQ(fmt(once), once);
}

TEST(Printer, CommentInsideARuleMovesBelowIt) {
  std::string out = fmt("policy p {\n  hide \"/a\", # why a\n    \"/b\";\n  hide \"/c\";\n}\n");
  EXPECT_EQ(out, "policy p {\n  hide \"/a\", \"/b\";\n  # why a\n  hide \"/c\";\n}\n");
  EXPECT_EQ(fmt(out), out);
}

TEST(Printer, LongRulesWrapOneSelectorAndClausePerLine) {
  std::string text = "policy p { deny write, create on \"/aaaaaaaaaaaaaaaaaaaaaaaa/**\", "
                     "\"/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb/**\", \"/cccccccccccccccc\" "
                     "errno EPERM when uid != 0; }";
  std::string out = fmt(text);
  EXPECT_EQ(out,
            "policy p {\n"
            "  deny write, create on\n"
            "      \"/aaaaaaaaaaaaaaaaaaaaaaaa/**\",\n"
            "      \"/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb/**\",\n"
            "      \"/cccccccccccccccc\"\n"
            "      errno EPERM\n"
            "      when uid != 0;\n"
            "}\n");
  EXPECT_EQ(fmt(out), out);
}

TEST(Printer, ImportsAreSeparatedFromThePolicy) {
  EXPECT_EQ(fmt("import a;import \"b.fspol\" as b; policy p {}"),
            "import a;\nimport \"b.fspol\" as b;\n\npolicy p {\n}\n");
}

TEST(Printer, QuoteEscapes) {
  EXPECT_EQ(quote("a\"b\\c\n\xc3\xa9"), "\"a\\\"b\\\\c\\x0a\\xc3\\xa9\"");
}

}  // namespace
}  // namespace fspol::syntax
