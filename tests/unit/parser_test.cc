#include "syntax/parser.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace fspol::syntax {
namespace {

using fspol::testing::parse;
using fspol::testing::policy;

struct DumpCase {
  std::string body;
  std::string dump;  // the one item's dump
};

class ParseItem : public ::testing::TestWithParam<DumpCase> {};

TEST_P(ParseItem, Dumps) {
  auto p = parse(policy(GetParam().body));
  ASSERT_FALSE(p->diags.has_errors()) << p->errors();
  EXPECT_EQ(p->dump(), "(policy p\n  " + GetParam().dump + "\n)\n");
}

INSTANTIATE_TEST_SUITE_P(
    Table, ParseItem,
    ::testing::Values(
        DumpCase{"lower store = \"/srv\";", "(lower store \"/srv\")"},
        DumpCase{"option entry_timeout = 1500ms;", "(option entry_timeout 1500)"},
        DumpCase{"option cache = never;", "(option cache never)"},
        DumpCase{"option writeback = true;", "(option writeback 1)"},
        DumpCase{"let s = \"/a\", file|dir b.c;", "(let s (sel \"/a\") (sel types=3 b.c))"},
        DumpCase{"use lib.dots;", "(use lib.dots)"},
        DumpCase{"hide \"/x\";", "(rule hide (sel \"/x\"))"},
        DumpCase{"deny write, rename on \"/x\" errno EPERM;",
                 "(rule deny (ops write rename) (sel \"/x\") (errno EPERM))"},
        DumpCase{"deny \"/x\" when uid == 0;", "(rule deny (sel \"/x\") (when (== uid 0)))"},
        DumpCase{"allow read on secrets;", "(rule allow (ops read) (sel secrets))"},
        DumpCase{"readonly \"/**\" errno EACCES unless gid in {0, 10..20};",
                 "(rule readonly (sel \"/**\") (errno EACCES) (unless (in gid set 0 (.. 10 20))))"},
        DumpCase{"attr \"/x\" { mode &= 0755; uid map { 0 -> 1000, 1..9 -> 11..19 }; gid = staff; "
                 "ctime = 0; }",
                 "(rule attr (sel \"/x\") (&= mode 493) (map uid (-> 0 1000) (-> (.. 1 9) (.. 11 19))) "
                 "(= gid staff) (= ctime 0))"},
        DumpCase{"rename \"/d/**\" { suffix \".markdown\" -> \".md\"; prefix \"_\" -> \".\"; }",
                 "(rule rename (sel \"/d/**\") (suffix \".markdown\" \".md\") (prefix \"_\" \".\"))"},
        DumpCase{"casefold dir \"/games/**\";", "(rule casefold (sel types=2 \"/games/**\"))"},
        DumpCase{"redirect \"/o/**\" to store \"/v1\";",
                 "(rule redirect (sel \"/o/**\") (to store \"/v1\"))"},
        DumpCase{"redirect \"/o\" when uid > 5 to main;",
                 "(rule redirect (sel \"/o\") (to main) (when (> uid 5)))"},
        DumpCase{"handle read on \"/l/*\" with redact;",
                 "(rule handle (ops read) (sel \"/l/*\") (with redact))"},
        DumpCase{"audit \"/etc/**\" tag \"etc\";", "(rule audit (sel \"/etc/**\") (tag \"etc\"))"},
        DumpCase{"hide \"/x\" when not uid == 0 and (comm in {\"a\", \"b\"} or gid != 1);",
                 "(rule hide (sel \"/x\") (when (and (not (== uid 0)) (or (in comm set \"a\" \"b\") "
                 "(!= gid 1)))))"},
        DumpCase{"hide \"/x\" when uid == 0 or gid == 1 and true;",
                 "(rule hide (sel \"/x\") (when (or (== uid 0) (and (== gid 1) true))))"}));

struct ErrorCase {
  std::string body;
  std::string first_error;  // "line:col: message" of the first error
};

class ParseError : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(ParseError, ReportsFirstError) {
  auto p = parse(policy(GetParam().body));
  ASSERT_TRUE(p->diags.has_errors());
  const Diagnostic& d = p->diags.all().front();
  LineCol lc = p->sources.file(p->id).line_col(d.range.begin);
  EXPECT_EQ(std::to_string(lc.line) + ":" + std::to_string(lc.col) + ": " + d.message,
            GetParam().first_error);
}

INSTANTIATE_TEST_SUITE_P(
    Table, ParseError,
    ::testing::Values(
        ErrorCase{"hide \"/x\"", "2:10: expected ';' after the hide rule"},
        ErrorCase{"deny wrte on \"/x\";", "2:6: unknown operation 'wrte'"},
        ErrorCase{"deny write \"/x\";", "2:11: expected 'on' between the operations and the paths"},
        ErrorCase{"deny write, write on \"/x\";", "2:13: operation 'write' is listed twice"},
        ErrorCase{"hide read on \"/x\";", "2:6: a hide rule does not take operations"},
        ErrorCase{"hide \"/x\" errno EPERM;", "2:11: 'errno' is not valid in a hide rule"},
        ErrorCase{"deny \"/x\" errno EPERM errno EIO;", "2:23: a rule has at most one 'errno' clause"},
        ErrorCase{"deny \"/x\" when uid == 0 unless uid == 1;",
                  "2:25: a rule has at most one 'when/unless' clause"},
        ErrorCase{"hide \"/x\" when (uid == 0;", "2:25: expected ')' to close the condition"},
        ErrorCase{"hide \"/x\" when uid;",
                  "2:19: expected a comparison ('==', '!=', '<', '<=', '>', '>=' or 'in') after "
                  "'uid', found ';'"},
        ErrorCase{"hide \"/x\" when comm < \"a\";",
                  "2:21: process names compare only with '==', '!=', 'in' and 'not in'"},
        ErrorCase{"hide \"/x\" when uid in {};", "2:23: empty set; a condition on it would never hold"},
        ErrorCase{"hide \"/x\" when user == 0;",
                  "2:16: expected a condition on the caller (uid, gid or comm), found identifier "
                  "'user'"},
        ErrorCase{"attr \"/x\" { mode = 0644 }", "2:24: expected ';' after the attribute"},
        ErrorCase{"attr \"/x\" { uid map {}; }", "2:21: empty map; write at least one 'from -> to'"},
        ErrorCase{"attr \"/x\" { mtime += 1; }", "2:19: 'mtime' takes '=', not '+='"},
        ErrorCase{"attr \"/x\" { mode = 1; };", "2:24: no ';' after a block"},
        ErrorCase{"rename \"/x\" { infix \"a\" -> \"b\"; }",
                  "2:15: expected 'suffix' or 'prefix', found identifier 'infix'"},
        ErrorCase{"lower 5 = \"/x\";", "2:7: expected a name for the lower root, found integer '5'"},
        ErrorCase{"option threads = \"2\";",
                  "2:18: expected an integer for option 'threads', found string \"2\""},
        ErrorCase{"option writeback = 1;",
                  "2:20: expected 'true' or 'false' for option 'writeback', found integer '1'"},
        ErrorCase{"option entry_timeout = 5;", "2:24: expected a duration for option 'entry_timeout', found integer '5'"},
        ErrorCase{"import x;", "2:1: imports must come before the policy"},
        ErrorCase{"policy q {}", "2:1: 'policy' cannot be nested"},
        ErrorCase{"hide;", "2:5: expected a path pattern (a quoted glob such as \"/data/**\") or a let "
                           "name, found ';'"},
        ErrorCase{"hide file;", "2:10: expected a path pattern after the file type, found ';'"},
        ErrorCase{"hide file|file \"/x\";", "2:11: file type 'file' is listed twice"}));

TEST(Parser, RecoversAndReportsEveryError) {
  auto p = parse(policy("hide \"x\";\ndeny wrte on \"/y\";\nhide \"/ok\";\nallow \"/z\" errno EIO;"));
  EXPECT_EQ(p->diags.error_count(), 3u) << p->errors();
  // The good rule between the bad ones is still in the tree.
  EXPECT_NE(p->dump().find("(rule hide (sel \"/ok\"))"), std::string::npos);
}

TEST(Parser, ModuleCannotDeclareLowerOrOptions) {
  auto p = parse("module m {\n  lower x = \"/a\";\n  option threads = 1;\n  hide \"/x\";\n}\n");
  EXPECT_EQ(p->diags.error_count(), 2u);
  EXPECT_EQ(p->diags.all()[0].message, "'lower' belongs in a policy, not in a module");
}

TEST(Parser, ImportsAndModule) {
  auto p = parse("import a.b as c;\nimport \"x/y.fspol\";\nmodule m { use c; }\n");
  ASSERT_FALSE(p->diags.has_errors()) << p->errors();
  EXPECT_EQ(p->dump(), "(import a.b as c)\n(import \"x/y.fspol\")\n(module m\n  (use c)\n)\n");
}

TEST(Parser, EmptyAndTrailingInput) {
  EXPECT_EQ(parse("")->diags.all().at(0).message,
            "expected 'policy NAME { ... }' or 'module NAME { ... }'; the file has none");
  EXPECT_EQ(parse("policy a {}\npolicy b {}\n")->diags.all().at(0).message,
            "unexpected keyword 'policy' after the end of the policy");
  auto unclosed = parse("policy a {\n  hide \"/x\";\n");
  EXPECT_EQ(unclosed->diags.all().at(0).message, "expected '}' at the end of the policy");
  EXPECT_EQ(unclosed->diags.all().at(0).notes.at(0).message, "to match this '{'");
}

TEST(Parser, DecodeString) {
  EXPECT_EQ(decode_string(R"(a\"b\\c\x41\*)"), "a\"b\\cA*");
  EXPECT_EQ(decode_string(R"(\x4)"), "x4");
  EXPECT_EQ(decode_string("\\"), "\\");
}

}  // namespace
}  // namespace fspol::syntax
