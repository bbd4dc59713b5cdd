// Every valid corpus file, example and stdlib module: formatting keeps its
// meaning (same AST dump), is idempotent, and no prefix of the file crashes
// the parser.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "syntax/printer.h"
#include "test_util.h"

namespace fspol::syntax {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> policy_files() {
  std::vector<std::string> out;
  for (const char* dir : {"grammar/corpus/valid", "examples", "stdlib/policies"}) {
    fs::path root = fs::path(FSPOL_SOURCE_DIR) / dir;
    if (!fs::is_directory(root)) continue;
    for (const auto& entry : fs::directory_iterator(root)) {
      if (entry.path().extension() == ".fspol") out.push_back(entry.path().string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

class RoundTrip : public ::testing::TestWithParam<std::string> {};

TEST_P(RoundTrip, FormatKeepsMeaningAndIsIdempotent) {
  auto original = fspol::testing::parse(read(GetParam()), GetParam());
  ASSERT_FALSE(original->diags.has_errors()) << original->errors();
  std::string once = format_file(original->file, original->sources.file(original->id));
  auto reparsed = fspol::testing::parse(once, "formatted");
  ASSERT_FALSE(reparsed->diags.has_errors()) << reparsed->errors() << once;
  EXPECT_EQ(reparsed->dump(), original->dump());
  std::string twice = format_file(reparsed->file, reparsed->sources.file(reparsed->id));
  EXPECT_EQ(twice, once);
}

TEST_P(RoundTrip, EveryPrefixParsesWithoutCrashing) {
  std::string text = read(GetParam());
  for (size_t n = 0; n < text.size(); ++n) {
    auto p = fspol::testing::parse(text.substr(0, n));
    (void)p->errors();  // rendering must not crash either
  }
}

INSTANTIATE_TEST_SUITE_P(Files, RoundTrip, ::testing::ValuesIn(policy_files()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = fs::path(info.param).parent_path().filename().string() +
                                              "_" + fs::path(info.param).stem().string();
                           for (char& c : name) {
                             if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

TEST(RoundTripCorpus, IsNotEmpty) { EXPECT_GE(policy_files().size(), 7u); }

}  // namespace
}  // namespace fspol::syntax
