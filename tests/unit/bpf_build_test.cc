// build_bpf_object: the in-process Clang build gives a usable, deterministic
// BPF object. Usable: it is an EM_BPF ELF with BTF, libbpf loads it and the
// kernel runs it (as root); its code is byte for byte what the clang-19
// driver makes of the same file. Deterministic: the same input gives the
// same bytes, whatever the working directory or CPATH. Errors come back as
// diagnostics at the #line location, never on stderr.

#include "codegen/bpf_build.h"

#include <elf.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#include <sanitizer/lsan_interface.h>
#define FSPOL_LSAN 1
#endif
#endif

#ifdef FSPOL_HAVE_LIBBPF
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#endif

namespace fspol::codegen {
namespace {

namespace fs = std::filesystem;

// Where a BPF build finds <linux/bpf.h> and <bpf/bpf_helpers.h> on Debian:
// /usr/include, and the multiarch directory for <asm/types.h>.
#if defined(__x86_64__)
constexpr const char* kMultiarchInclude = "/usr/include/x86_64-linux-gnu";
#elif defined(__aarch64__)
constexpr const char* kMultiarchInclude = "/usr/include/aarch64-linux-gnu";
#else
#error "add the multiarch include directory of this architecture"
#endif

// A syscall program (runnable with BPF_PROG_TEST_RUN), a BPF-to-BPF call
// into .text, a map and a read-only global: what libbpf has to relocate.
constexpr const char* kProgram = R"(// SPDX-License-Identifier: GPL-2.0
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} runs SEC(".maps");

const volatile int answer_base = 40;

static __attribute__((noinline)) int count_run(__u64 *count)
{
	if (!count)
		return 0;
	__sync_fetch_and_add(count, 1);
	return 2;
}

SEC("syscall")
int answer(void *ctx)
{
	__u32 key = 0;

	return answer_base + count_run(bpf_map_lookup_elem(&runs, &key));
}
)";

BpfSource program_source() {
  BpfSource source;
  source.main_name = "policy.bpf.c";
  source.main_text = kProgram;
  source.include_dirs = {"/usr/include", kMultiarchInclude};
  return source;
}

std::string render(const std::vector<BpfDiagnostic>& diagnostics) {
  std::ostringstream out;
  for (const BpfDiagnostic& d : diagnostics) {
    const char* severity = d.severity == BpfDiagnostic::Severity::kError     ? "error"
                           : d.severity == BpfDiagnostic::Severity::kWarning ? "warning"
                                                                             : "note";
    out << d.file << ":" << d.line << ":" << d.column << ": " << severity << ": " << d.message
        << "\n";
  }
  return out.str();
}

// The sections of a little-endian ELF64 object, by name: enough of an ELF
// reader to check the machine and compare sections.
struct Elf {
  uint16_t machine = 0;
  struct Section {
    uint32_t type = 0;
    uint64_t flags = 0;
    std::string bytes;
  };
  std::map<std::string, Section> sections;
};

bool read_elf(const std::string& image, Elf& out) {
  Elf64_Ehdr header;
  if (image.size() < sizeof header) return false;
  std::memcpy(&header, image.data(), sizeof header);
  if (std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0 || header.e_ident[EI_CLASS] != ELFCLASS64 ||
      header.e_ident[EI_DATA] != ELFDATA2LSB || header.e_shentsize != sizeof(Elf64_Shdr)) {
    return false;
  }
  out.machine = header.e_machine;
  auto section_header = [&](size_t i, Elf64_Shdr& s) {
    size_t at = header.e_shoff + i * sizeof s;
    if (at + sizeof s > image.size()) return false;
    std::memcpy(&s, image.data() + at, sizeof s);
    return s.sh_type == SHT_NOBITS || s.sh_offset + s.sh_size <= image.size();
  };
  Elf64_Shdr names;
  if (!section_header(header.e_shstrndx, names)) return false;
  for (size_t i = 1; i < header.e_shnum; ++i) {
    Elf64_Shdr s;
    if (!section_header(i, s) || s.sh_name >= names.sh_size) return false;
    std::string name(image.data() + names.sh_offset + s.sh_name);
    Elf::Section& section = out.sections[name];
    section.type = s.sh_type;
    section.flags = s.sh_flags;
    if (s.sh_type != SHT_NOBITS) section.bytes = image.substr(s.sh_offset, s.sh_size);
  }
  return true;
}

// A fresh directory under the system temp dir, removed at scope exit.
struct TempDir {
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "fspol-bpf-build-XXXXXX").string();
    path = mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
  fs::path path;
};

// Runs `argv` in `dir`, without a shell; the exit status, or -1.
int run_in(const fs::path& dir, const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    if (chdir(dir.c_str()) != 0) _exit(126);
    execv(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

TEST(BpfBuild, BuildsAnElfBpfObjectWithBtf) {
  BpfBuildResult out = build_bpf_object(program_source());
  ASSERT_TRUE(out.ok) << render(out.diagnostics);
  EXPECT_EQ(render(out.diagnostics), "");
  Elf elf;
  ASSERT_TRUE(read_elf(out.object, elf));
  EXPECT_EQ(elf.machine, EM_BPF);
  EXPECT_EQ(elf.machine, 247);
  EXPECT_TRUE(elf.sections.count(".BTF"));
  EXPECT_TRUE(elf.sections.count(".BTF.ext"));
  EXPECT_TRUE(elf.sections.count("syscall"));
  EXPECT_TRUE(elf.sections.count(".maps"));
  // The DWARF names the virtual comp_dir, never the caller's directory.
  ASSERT_TRUE(elf.sections.count(".debug_line_str"));
  const std::string& line_strings = elf.sections[".debug_line_str"].bytes;
  EXPECT_NE(line_strings.find(std::string("/fspol") + '\0'), std::string::npos);
  EXPECT_EQ(line_strings.find(fs::current_path().string()), std::string::npos);
}

TEST(BpfBuild, SameInputSameBytesInAnyDirectory) {
  BpfBuildResult first = build_bpf_object(program_source());
  BpfBuildResult second = build_bpf_object(program_source());
  ASSERT_TRUE(first.ok) << render(first.diagnostics);
  ASSERT_TRUE(second.ok) << render(second.diagnostics);
  EXPECT_TRUE(first.object == second.object);

  const fs::path home = fs::current_path();
  TempDir elsewhere;
  fs::current_path(elsewhere.path);
  BpfBuildResult moved = build_bpf_object(program_source());
  fs::current_path(home);
  ASSERT_TRUE(moved.ok) << render(moved.diagnostics);
  EXPECT_TRUE(first.object == moved.object);
}

TEST(BpfBuild, TheDateIsFixed) {
  BpfSource source;
  source.main_name = "d.bpf.c";
  source.main_text = "const char when[] = __DATE__ \" \" __TIME__;\n";
  ASSERT_EQ(setenv("SOURCE_DATE_EPOCH", "1700000000", 1), 0);
  BpfBuildResult out = build_bpf_object(source);
  unsetenv("SOURCE_DATE_EPOCH");
  ASSERT_TRUE(out.ok) << render(out.diagnostics);
  Elf elf;
  ASSERT_TRUE(read_elf(out.object, elf));
  EXPECT_NE(elf.sections[".rodata"].bytes.find("Jan  1 1970 00:00:00"), std::string::npos);
}

TEST(BpfBuild, TheEnvironmentAddsNoIncludeDirectory) {
  // The clang driver would search CPATH; an in-process build must not.
  BpfSource source = program_source();
  source.include_dirs.clear();
  ASSERT_EQ(setenv("CPATH", "/usr/include", 1), 0);
  BpfBuildResult out = build_bpf_object(source);
  unsetenv("CPATH");
  EXPECT_FALSE(out.ok);
  ASSERT_FALSE(out.diagnostics.empty());
  EXPECT_EQ(out.diagnostics[0].message, "'linux/bpf.h' file not found");
  EXPECT_EQ(out.diagnostics[0].file, "policy.bpf.c");
  EXPECT_EQ(out.diagnostics[0].line, 2u);
}

TEST(BpfBuild, ErrorsComeBackAtTheLineDirectiveLocation) {
  BpfSource source;
  source.main_name = "p.bpf.c";
  source.main_text =
      "int fine(void) { return 0; }\n"
      "#line 7 \"p.fspol\"\n"
      "int broken(void) { return 0 }\n";
  ::testing::internal::CaptureStderr();
  BpfBuildResult out = build_bpf_object(source);
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
  EXPECT_FALSE(out.ok);
  EXPECT_TRUE(out.object.empty());
  // The line right after `#line 7` is line 7; the column is just after `0`,
  // as `clang-19 -c` prints it.
  EXPECT_EQ(render(out.diagnostics), "p.fspol:7:28: error: expected ';' after return statement\n");
}

TEST(BpfBuild, WarningsKeepTheBuildOk) {
  BpfSource source;
  source.main_name = "w.bpf.c";
  source.main_text =
      "#line 3 \"w.fspol\"\n"
      "int f(int x) { x == 1; return x; }\n";
  ::testing::internal::CaptureStderr();
  BpfBuildResult out = build_bpf_object(source);
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
  EXPECT_TRUE(out.ok) << render(out.diagnostics);
  EXPECT_FALSE(out.object.empty());
  EXPECT_EQ(render(out.diagnostics),
            "w.fspol:3:18: warning: equality comparison result unused [-Wunused-comparison]\n"
            "w.fspol:3:18: note: use '=' to turn this equality comparison into an assignment\n");
}

TEST(BpfBuild, FatalBackendErrorsAreDiagnosticsAndTheProcessGoesOn) {
  // The BPF backend calls report_fatal_error for this; clang-19 would
  // print a stack dump and exit with 70.
  BpfSource source;
  source.main_name = "f.bpf.c";
  source.main_text = "__int128 f(__int128 a, __int128 b) { return a / b; }\n";
  ::testing::internal::CaptureStderr();
#ifdef FSPOL_LSAN
  // LLVM's crash recovery abandons the failed compiler instance by design.
  __lsan::ScopedDisabler abandoned_by_crash_recovery;
#endif
  BpfBuildResult out = build_bpf_object(source);
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
  EXPECT_FALSE(out.ok);
  EXPECT_EQ(render(out.diagnostics),
            ":0:0: error: error in backend: unable to allocate function return #1\n");

  BpfBuildResult after = build_bpf_object(program_source());
  ASSERT_TRUE(after.ok) << render(after.diagnostics);
  EXPECT_TRUE(after.object == build_bpf_object(program_source()).object);
}

TEST(BpfBuild, BackendErrorsHaveLocations) {
  BpfSource source;
  source.main_name = "s.bpf.c";
  source.main_text =
      "#line 20 \"s.fspol\"\n"
      "int big(int i) { volatile char buf[1024]; buf[i] = 1; return buf[0]; }\n";
  BpfBuildResult out = build_bpf_object(source);
  EXPECT_FALSE(out.ok);
  ASSERT_FALSE(out.diagnostics.empty());
  EXPECT_EQ(out.diagnostics[0].severity, BpfDiagnostic::Severity::kError);
  EXPECT_EQ(out.diagnostics[0].file, "s.fspol");
  EXPECT_EQ(out.diagnostics[0].line, 20u);
  EXPECT_EQ(out.diagnostics[0].message.rfind("Looks like the BPF stack limit is exceeded.", 0), 0u)
      << out.diagnostics[0].message;
}

TEST(BpfBuild, FindsVirtualHeadersAndDefines) {
  BpfSource source;
  source.main_name = "v.bpf.c";
  source.main_text =
      "#include \"x.h\"\n"
      "#include <gen/y.h>\n"
      "#include <stdint.h>\n"  // Clang's own header, from the resource directory
      "uint32_t f(void) { return X + Y + Z; }\n";
  source.headers = {{"x.h", "#define X 1\n"}, {"gen/y.h", "#define Y 2\n"}};
  source.defines = {"Z=3"};
  BpfBuildResult out = build_bpf_object(source);
  EXPECT_TRUE(out.ok) << render(out.diagnostics);
  EXPECT_EQ(render(out.diagnostics), "");

  source.headers.pop_back();
  out = build_bpf_object(source);
  EXPECT_FALSE(out.ok);
  EXPECT_EQ(render(out.diagnostics), "v.bpf.c:2:10: error: 'gen/y.h' file not found\n");
}

TEST(BpfBuild, RejectsBadVirtualFilesWithoutBuilding) {
  BpfSource source;
  source.main_name = "d.bpf.c";
  source.headers = {{"x.h", "int a;\n"}, {"x.h", "int b;\n"}};
  BpfBuildResult out = build_bpf_object(source);
  EXPECT_FALSE(out.ok);
  EXPECT_EQ(render(out.diagnostics),
            ":0:0: error: virtual file 'x.h' given twice, or inside another file's name\n");
  out = build_bpf_object(BpfSource{});
  EXPECT_FALSE(out.ok);
  EXPECT_EQ(render(out.diagnostics), ":0:0: error: no name given for the BPF C source\n");
}

TEST(BpfBuild, LoadsAndRunsWithLibbpf) {
#ifndef FSPOL_HAVE_LIBBPF
  GTEST_SKIP() << "built without libbpf";
#else
  if (geteuid() != 0) GTEST_SKIP() << "loading BPF programs needs root";
  BpfBuildResult out = build_bpf_object(program_source());
  ASSERT_TRUE(out.ok) << render(out.diagnostics);

  bpf_object* object = bpf_object__open_mem(out.object.data(), out.object.size(), nullptr);
  ASSERT_EQ(libbpf_get_error(object), 0);
  int err = bpf_object__load(object);
  if (err != 0) {
    bpf_object__close(object);
    FAIL() << "bpf_object__load: " << err;
  }
  bpf_program* program = bpf_object__find_program_by_name(object, "answer");
  bpf_map* runs = bpf_object__find_map_by_name(object, "runs");
  ASSERT_NE(program, nullptr);
  ASSERT_NE(runs, nullptr);
  for (int i = 0; i < 2; ++i) {
    LIBBPF_OPTS(bpf_test_run_opts, opts);
    ASSERT_EQ(bpf_prog_test_run_opts(bpf_program__fd(program), &opts), 0);
    EXPECT_EQ(opts.retval, 42u);
  }
  uint32_t key = 0;
  uint64_t count = 0;
  EXPECT_EQ(bpf_map_lookup_elem(bpf_map__fd(runs), &key, &count), 0);
  EXPECT_EQ(count, 2u);
  bpf_object__close(object);
#endif
}

TEST(BpfBuild, CodeMatchesTheClangDriver) {
#ifndef FSPOL_CLANG_DRIVER
  GTEST_SKIP() << "no clang-19 driver found at configure time";
#else
  if (access(FSPOL_CLANG_DRIVER, X_OK) != 0) GTEST_SKIP() << FSPOL_CLANG_DRIVER << " missing";
  BpfBuildResult out = build_bpf_object(program_source());
  ASSERT_TRUE(out.ok) << render(out.diagnostics);

  TempDir dir;
  std::ofstream(dir.path / "policy.bpf.c") << kProgram;
  const std::vector<std::string> clang = {FSPOL_CLANG_DRIVER,
                                          "-target",
                                          "bpf",
                                          "-O2",
                                          "-g",
                                          "-mcpu=v3",
                                          "-c",
                                          "-I/usr/include",
                                          std::string("-I") + kMultiarchInclude,
                                          "policy.bpf.c"};
  std::vector<std::string> plain = clang;
  plain.insert(plain.end(), {"-o", "plain.o"});
  ASSERT_EQ(run_in(dir.path, plain), 0);
  // With the same compilation directory the whole object is the same.
  std::vector<std::string> pinned = clang;
  pinned.insert(pinned.end(), {"-ffile-compilation-dir=/fspol", "-o", "pinned.o"});
  ASSERT_EQ(run_in(dir.path, pinned), 0);

  auto slurp = [](const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  Elf ours, theirs;
  ASSERT_TRUE(read_elf(out.object, ours));
  ASSERT_TRUE(read_elf(slurp(dir.path / "plain.o"), theirs));
  size_t code_sections = 0;
  for (const auto& [name, section] : theirs.sections) {
    if (!(section.flags & SHF_EXECINSTR)) continue;
    ++code_sections;
    ASSERT_TRUE(ours.sections.count(name)) << name;
    EXPECT_TRUE(ours.sections[name].bytes == section.bytes) << name;
  }
  EXPECT_EQ(code_sections, 2u);  // .text (count_run) and syscall (answer)
  EXPECT_FALSE(ours.sections[".text"].bytes.empty());
  EXPECT_TRUE(out.object == slurp(dir.path / "pinned.o"));
#endif
}

// The time of one build of a ~250-line policy-like file (18 programs over
// a hash map), median of 10. Run with --gtest_also_run_disabled_tests.
TEST(BpfBuild, DISABLED_MedianBuildTime) {
  std::ostringstream text;
  text << "#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\n\n"
          "char LICENSE[] SEC(\"license\") = \"GPL\";\n\n"
          "struct {\n\t__uint(type, BPF_MAP_TYPE_HASH);\n\t__uint(max_entries, 1024);\n"
          "\t__type(key, __u64);\n\t__type(value, __u32);\n} verdicts SEC(\".maps\");\n\n";
  for (int i = 0; i < 18; ++i) {
    text << "SEC(\"syscall\")\nint rule_" << i << "(__u64 *ctx)\n{\n"
         << "\t__u64 key = ctx ? *ctx : " << i << ";\n"
         << "\t__u32 *v = bpf_map_lookup_elem(&verdicts, &key);\n\n"
         << "\tif (!v)\n\t\treturn -1;\n"
         << "\tif (*v & " << (1 << (i % 8)) << ")\n\t\treturn " << i << ";\n"
         << "\treturn *v > " << i * 3 << " ? 1 : 0;\n}\n\n";
  }
  BpfSource source = program_source();
  source.main_text = text.str();
  std::vector<double> ms;
  for (int i = 0; i < 10; ++i) {
    auto start = std::chrono::steady_clock::now();
    BpfBuildResult out = build_bpf_object(source);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                     .count());
    ASSERT_TRUE(out.ok) << render(out.diagnostics);
  }
  std::sort(ms.begin(), ms.end());
  size_t lines =
      static_cast<size_t>(std::count(source.main_text.begin(), source.main_text.end(), '\n'));
  std::printf("%zu lines: median %.1f ms (min %.1f, max %.1f)\n", lines, (ms[4] + ms[5]) / 2,
              ms.front(), ms.back());
}

}  // namespace
}  // namespace fspol::codegen
