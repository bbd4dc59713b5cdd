#include "fspol/diagnostics.h"

#include <gtest/gtest.h>

#include <sstream>

namespace fspol {
namespace {

std::string render(Diagnostics& diags, const SourceManager& sources, bool color = false) {
  std::ostringstream out;
  diags.render(out, sources, RenderOptions{color});
  return out.str();
}

TEST(Diagnostics, RendersLocationSourceLineAndRange) {
  SourceManager sources;
  FileId f = sources.add("home.fspol", "policy p {\n  deny wrte on \"/x\";\n}\n");
  Diagnostics diags;
  diags.error(SourceRange{f, 18, 22}, "unknown operation 'wrte'")
      .note(SourceRange{f, 18, 22}, "did you mean 'write'?");
  EXPECT_EQ(render(diags, sources),
            "home.fspol:2:8: error: unknown operation 'wrte'\n"
            "  deny wrte on \"/x\";\n"
            "       ^~~~\n"
            "home.fspol:2:8: note: did you mean 'write'?\n"
            "1 error generated.\n");
}

TEST(Diagnostics, TabsAreCopiedIntoTheCaretLine) {
  SourceManager sources;
  FileId f = sources.add("t.fspol", "\tdeny\tx;\n");
  Diagnostics diags;
  diags.error(SourceRange{f, 6, 7}, "bad");
  EXPECT_EQ(render(diags, sources), "t.fspol:1:7: error: bad\n\tdeny\tx;\n\t    \t^\n1 error generated.\n");
}

TEST(Diagnostics, SortedByPositionThenSeverity) {
  SourceManager sources;
  FileId f = sources.add("t.fspol", "aaa\nbbb\n");
  Diagnostics diags;
  diags.warning("shadow", SourceRange{f, 4, 5}, "second");
  diags.error(SourceRange{f, 4, 5}, "first");
  diags.error(SourceRange{f, 0, 1}, "zeroth");
  std::string text = render(diags, sources);
  EXPECT_LT(text.find("zeroth"), text.find("first"));
  EXPECT_LT(text.find("first"), text.find("second"));
  EXPECT_NE(text.find("second [-Wshadow]"), std::string::npos);
  EXPECT_NE(text.find("1 warning and 2 errors generated.\n"), std::string::npos);
}

TEST(Diagnostics, RangeAtEndOfLineGetsACaret) {
  SourceManager sources;
  FileId f = sources.add("t.fspol", "hide \"/x\"\n");
  Diagnostics diags;
  diags.error(SourceRange{f, 9, 9}, "expected ';'");
  EXPECT_EQ(render(diags, sources), "t.fspol:1:10: error: expected ';'\nhide \"/x\"\n         ^\n1 error generated.\n");
}

TEST(Diagnostics, LongLinesAreTrimmedAroundTheRange) {
  SourceManager sources;
  std::string line(500, 'a');
  line[300] = 'X';
  FileId f = sources.add("t.fspol", line + "\n");
  Diagnostics diags;
  diags.error(SourceRange{f, 300, 301}, "here");
  std::string text = render(diags, sources);
  std::istringstream lines(text);
  std::string header, shown, carets;
  std::getline(lines, header);
  std::getline(lines, shown);
  std::getline(lines, carets);
  EXPECT_EQ(header, "t.fspol:1:301: error: here");
  EXPECT_LT(shown.size(), 120u);
  EXPECT_EQ(shown.substr(0, 3), "...");
  EXPECT_EQ(shown[carets.find('^')], 'X');
}

TEST(Diagnostics, ControlBytesAndInvalidUtf8AreNotPrintedRaw) {
  SourceManager sources;
  FileId f = sources.add("t.fspol", std::string("a\x1b[31m\xff\xc2\x85z\n"));
  Diagnostics diags;
  diags.error(SourceRange{f, 8, 9}, "bad");
  std::string text = render(diags, sources);
  EXPECT_EQ(text.find('\x1b'), std::string::npos);
  EXPECT_EQ(text.find('\xff'), std::string::npos);
  EXPECT_NE(text.find("a?[31m??z\n"), std::string::npos);
}

TEST(Diagnostics, ErrorLimitStopsCollecting) {
  SourceManager sources;
  FileId f = sources.add("t.fspol", "x\n");
  Diagnostics diags(3);
  for (int i = 0; i < 10; ++i) diags.error(SourceRange{f, 0, 1}, "e" + std::to_string(i));
  EXPECT_TRUE(diags.limit_reached());
  EXPECT_EQ(diags.error_count(), 3u);
  EXPECT_EQ(diags.all().size(), 3u);
  std::string text = render(diags, sources);
  EXPECT_NE(text.find("fsc: fatal error: too many errors emitted (3), stopping now; "
                      "--error-limit=N shows more\n3 errors generated.\n"),
            std::string::npos)
      << text;
}

TEST(Diagnostics, ColourOnlyWhenAsked) {
  SourceManager sources;
  FileId f = sources.add("t.fspol", "x\n");
  Diagnostics plain, colored;
  plain.error(SourceRange{f, 0, 1}, "e");
  colored.error(SourceRange{f, 0, 1}, "e");
  EXPECT_EQ(render(plain, sources).find('\033'), std::string::npos);
  EXPECT_NE(render(colored, sources, true).find("\033[1;31merror"), std::string::npos);
}

TEST(Diagnostics, NothingToSayPrintsNothing) {
  SourceManager sources;
  Diagnostics diags;
  EXPECT_EQ(render(diags, sources), "");
}

TEST(ClosestMatch, FindsTyposOnly) {
  std::vector<std::string_view> ops = {"read", "write", "create", "delete"};
  EXPECT_EQ(closest_match("wrte", ops), "write");
  EXPECT_EQ(closest_match("raed", ops), "read");  // transposition
  EXPECT_EQ(closest_match("creat", ops), "create");
  EXPECT_EQ(closest_match("banana", ops), "");
  EXPECT_EQ(closest_match("write", ops), "");  // an exact match is not a typo
}

TEST(SourceFile, LineAndColumnAreOneBasedBytes) {
  SourceFile file("t", "ab\ncd\r\nef");
  EXPECT_EQ(file.line_col(0).line, 1u);
  EXPECT_EQ(file.line_col(4).col, 2u);
  EXPECT_EQ(file.line_col(7).line, 3u);
  EXPECT_EQ(file.line_text(2), "cd");
  EXPECT_EQ(file.line_text(3), "ef");
  EXPECT_EQ(file.line_text(9), "");
}

}  // namespace
}  // namespace fspol
