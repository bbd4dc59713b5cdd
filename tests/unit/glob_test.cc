#include "syntax/glob.h"

#include <gtest/gtest.h>

#include "syntax/parser.h"

namespace fspol::syntax {
namespace {

struct GlobCase {
  std::string raw;
  std::string error;  // empty: must parse
  uint32_t column = 0;  // 1-based column of the error inside the string
};

class GlobSyntax : public ::testing::TestWithParam<GlobCase> {};

TEST_P(GlobSyntax, ParsesOrReportsAtTheRightColumn) {
  const GlobCase& c = GetParam();
  SourceManager sources;
  std::string text = "\"" + c.raw + "\"";
  FileId f = sources.add("t", text);
  StringLit lit{c.raw, decode_string(c.raw), SourceRange{f, 0, static_cast<uint32_t>(text.size())}};
  Diagnostics diags;
  auto glob = parse_glob(lit, diags);
  if (c.error.empty()) {
    EXPECT_TRUE(glob.has_value()) << (diags.all().empty() ? "" : diags.all()[0].message);
    return;
  }
  ASSERT_FALSE(glob.has_value());
  ASSERT_EQ(diags.all().size(), 1u);
  EXPECT_EQ(diags.all()[0].message, c.error);
  // Column 1 is the opening quote.
  EXPECT_EQ(sources.file(f).line_col(diags.all()[0].range.begin).col, c.column + 1);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, GlobSyntax,
    ::testing::Values(
        GlobCase{"/", "", 0}, GlobCase{"/a/b", "", 0}, GlobCase{"/**", "", 0},
        GlobCase{"/a/**/b", "", 0}, GlobCase{"/*.{jpg,png}", "", 0},
        GlobCase{"/[a-z]?[!0-9][]x][^/a]", "a character class cannot match '/'", 20},
        GlobCase{"/[]x]", "", 0}, GlobCase{"/{a,{b,c}d,}", "", 0}, GlobCase{"/a\\*\\x41", "", 0},
        GlobCase{"a", "selector must be an absolute path starting with '/'", 1},
        GlobCase{"", "selector must be an absolute path starting with '/'", 1},
        GlobCase{"/a/", "selector must not end with '/'", 3},
        GlobCase{"/a//b", "empty path component ('//')", 4},
        GlobCase{"/a/../b", "'..' is not allowed as a selector component", 4},
        GlobCase{"/a/./b", "'.' is not allowed as a selector component", 4},
        GlobCase{"/a**", "'**' must be a whole path component, as in \"/a/**/b\"", 3},
        GlobCase{"/**b", "'**' must be a whole path component, as in \"/a/**/b\"", 2},
        GlobCase{"/[abc", "unterminated character class; add ']'", 2},
        GlobCase{"/[z-a]", "character range is out of order ('z' > 'a')", 3},
        GlobCase{"/[!\\x01-\\xff]", "character class matches nothing", 2},
        GlobCase{"/{a,b", "unterminated '{'; add '}'", 2},
        GlobCase{"/{a/b}", "'/' inside {...} is not supported; write one selector per alternative", 4},
        GlobCase{"/{a}", "'{...}' needs at least two alternatives separated by ','", 2},
        GlobCase{"/a}", "unmatched '}'; escape it as \\}", 3},
        GlobCase{"/a]", "unmatched ']'; escape it as \\]", 3},
        GlobCase{"/a\\", "'\\' at the end of a selector escapes nothing", 3},
        GlobCase{"/a\\x2f", "a selector component cannot contain an escaped '/'", 3},
        GlobCase{"/a\\x00", "a path cannot contain a null byte", 3}));

TEST(GlobStructure, ComponentsAndPieces) {
  SourceManager sources;
  FileId f = sources.add("t", "\"/a*/**/{x,y}[0-9]\"");
  StringLit lit{"/a*/**/{x,y}[0-9]", "", SourceRange{f, 0, 19}};
  Diagnostics diags;
  auto glob = parse_glob(lit, diags);
  ASSERT_TRUE(glob);
  ASSERT_EQ(glob->components.size(), 3u);
  EXPECT_EQ(glob->components[0].pieces.size(), 2u);
  EXPECT_EQ(glob->components[0].pieces[0].literal, "a");
  EXPECT_EQ(glob->components[0].pieces[1].kind, GlobPiece::Kind::kStar);
  EXPECT_TRUE(glob->components[1].globstar);
  const auto& last = glob->components[2].pieces;
  ASSERT_EQ(last.size(), 2u);
  EXPECT_EQ(last[0].alternatives.size(), 2u);
  EXPECT_EQ(last[1].bytes.count(), 10u);
  EXPECT_TRUE(last[1].bytes.test('5'));
}

TEST(GlobStructure, NegatedClassNeverMatchesSlashOrNul) {
  SourceManager sources;
  FileId f = sources.add("t", "\"/[!a]\"");
  StringLit lit{"/[!a]", "", SourceRange{f, 0, 7}};
  Diagnostics diags;
  auto glob = parse_glob(lit, diags);
  ASSERT_TRUE(glob);
  const auto& bytes = glob->components[0].pieces[0].bytes;
  EXPECT_FALSE(bytes.test('a'));
  EXPECT_FALSE(bytes.test('/'));
  EXPECT_FALSE(bytes.test(0));
  EXPECT_EQ(bytes.count(), 253u);
}

}  // namespace
}  // namespace fspol::syntax
