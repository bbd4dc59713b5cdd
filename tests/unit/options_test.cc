#include "driver/options.h"

#include <gtest/gtest.h>

namespace fspol::driver {
namespace {

TEST(Options, Commands) {
  auto o = parse_options({"check", "a.fspol", "-", "--color=never"});
  ASSERT_TRUE(o);
  EXPECT_EQ(o->command, Command::kCheck);
  EXPECT_EQ(o->files, (std::vector<std::string>{"a.fspol", "-"}));
  EXPECT_EQ(o->color, ColorMode::kNever);
  auto f = parse_options({"fmt", "-i", "x", "--error-limit=7"});
  ASSERT_TRUE(f);
  EXPECT_TRUE(f->fmt_in_place);
  EXPECT_EQ(f->compile.error_limit, 7u);
  EXPECT_EQ(parse_options({"--help"})->command, Command::kHelp);
  EXPECT_EQ(parse_options({"version"})->command, Command::kVersion);
  auto e = parse_options({"explain", "p", "/x", "--op", "write", "--uid=1000", "--comm", "sh",
                          "--json", "--to", "/y"});
  ASSERT_TRUE(e);
  EXPECT_EQ(e->op, "write");
  EXPECT_EQ(e->uid, "1000");
  EXPECT_EQ(e->comm, "sh");
  EXPECT_EQ(e->to, "/y");
  EXPECT_TRUE(e->json);
  auto c = parse_options({"compile", "-I", "lib", "-Ilib2", "--stats", "-o", "out.ir", "p"});
  ASSERT_TRUE(c);
  EXPECT_EQ(c->compile.import_dirs, (std::vector<std::string>{"lib", "lib2"}));
  EXPECT_TRUE(c->stats);
  EXPECT_EQ(c->output, "out.ir");
  auto dashes = parse_options({"check", "--", "--weird-name"});
  ASSERT_TRUE(dashes);
  EXPECT_EQ(dashes->files.at(0), "--weird-name");
}

TEST(Options, UsageErrors) {
  EXPECT_EQ(parse_options({}).error().message, "no command given");
  EXPECT_EQ(parse_options({"frobnicate"}).error().message,
            "unknown command 'frobnicate'; expected check, fmt, compile, verify or explain");
  EXPECT_EQ(parse_options({"compile", "a", "b"}).error().message, "compile takes one policy");
  EXPECT_EQ(parse_options({"explain", "p.fspol", "/x"}).error().message,
            "explain needs --op OP (read, write, create, ...)");
  EXPECT_EQ(parse_options({"explain", "p.fspol"}).error().message,
            "explain takes a policy and a path");
  EXPECT_EQ(parse_options({"check"}).error().message, "no input files");
  EXPECT_EQ(parse_options({"check", "--frobnicate", "x"}).error().message,
            "unknown option '--frobnicate'");
  EXPECT_EQ(parse_options({"check", "--check", "x"}).error().message, "unknown option '--check'");
  EXPECT_EQ(parse_options({"fmt", "--check", "-i", "x"}).error().message,
            "fmt takes --check or --in-place, not both");
  EXPECT_EQ(parse_options({"check", "--color=pink", "x"}).error().message,
            "--color takes auto, always or never, not 'pink'");
  EXPECT_EQ(parse_options({"check", "--error-limit=x", "x"}).error().message,
            "--error-limit takes a number, not 'x'");
}

}  // namespace
}  // namespace fspol::driver
