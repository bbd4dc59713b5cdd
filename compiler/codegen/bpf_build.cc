// build_bpf_object: the Clang driver turns the `clang -target bpf ...`
// command line into a CompilerInvocation (in process, no subprocess), we
// point it at an in-memory file system, capture its diagnostics and its
// output stream, and run EmitObjAction. The approach is bpftrace's
// in-process C build (src/ast/passes/clang_build.cpp); unlike bpftrace we
// keep the object in memory instead of a memfd, and build the invocation
// with the driver so the object matches what the `clang-19` binary makes.

#include "codegen/bpf_build.h"

#include <clang/Basic/Diagnostic.h>
#include <clang/Basic/DiagnosticIDs.h>
#include <clang/Basic/DiagnosticOptions.h>
#include <clang/Basic/SourceManager.h>
#include <clang/CodeGen/CodeGenAction.h>
#include <clang/Driver/Driver.h>
#include <clang/Frontend/CompilerInstance.h>
#include <clang/Frontend/CompilerInvocation.h>
#include <clang/Frontend/FrontendOptions.h>
#include <clang/Frontend/Utils.h>
#include <clang/Lex/HeaderSearchOptions.h>
#include <clang/Lex/PreprocessorOptions.h>
#include <llvm/ADT/IntrusiveRefCntPtr.h>
#include <llvm/ADT/SmallString.h>
#include <llvm/ADT/SmallVector.h>
#include <llvm/Support/CrashRecoveryContext.h>
#include <llvm/Support/ErrorHandling.h>
#include <llvm/Support/FileSystem.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/Path.h>
#include <llvm/Support/PrettyStackTrace.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/VirtualFileSystem.h>
#include <llvm/Support/raw_ostream.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

// Both come from CMake (compiler/CMakeLists.txt), from the LLVM package
// that was linked: where that Clang keeps its own headers, and the driver
// binary whose behaviour we reproduce.
#ifndef FSPOL_CLANG_RESOURCE_DIR
#error "FSPOL_CLANG_RESOURCE_DIR must name the Clang resource directory"
#endif
#ifndef FSPOL_CLANG_EXECUTABLE
#error "FSPOL_CLANG_EXECUTABLE must name the clang driver binary"
#endif

namespace fspol::codegen {
namespace {

// The virtual working directory: the relative virtual files live here, and
// it is the DWARF comp_dir, so no path of the host leaks into the object.
constexpr const char* kVirtualDir = "/fspol";

// Collects every diagnostic of the driver and the compiler, at its presumed
// location (which honours #line), instead of printing it.
class CollectingConsumer final : public clang::DiagnosticConsumer {
 public:
  explicit CollectingConsumer(std::vector<BpfDiagnostic>& out) : out_(out) {}

  void HandleDiagnostic(clang::DiagnosticsEngine::Level level,
                        const clang::Diagnostic& info) override {
    // The base class keeps the error and warning counts.
    DiagnosticConsumer::HandleDiagnostic(level, info);
    BpfDiagnostic d;
    switch (level) {
      case clang::DiagnosticsEngine::Ignored:
        return;
      case clang::DiagnosticsEngine::Note:
      case clang::DiagnosticsEngine::Remark:
        d.severity = BpfDiagnostic::Severity::kNote;
        break;
      case clang::DiagnosticsEngine::Warning:
        d.severity = BpfDiagnostic::Severity::kWarning;
        break;
      case clang::DiagnosticsEngine::Error:
      case clang::DiagnosticsEngine::Fatal:
        d.severity = BpfDiagnostic::Severity::kError;
        break;
    }
    llvm::SmallString<256> text;
    info.FormatDiagnostic(text);
    // (Some backend messages end with a newline.)
    d.message = llvm::StringRef(text.data(), text.size()).rtrim().str();
    if (level == clang::DiagnosticsEngine::Warning) {
      llvm::StringRef option = clang::DiagnosticIDs::getWarningOptionForDiag(info.getID());
      if (!option.empty()) d.message += " [-W" + option.str() + "]";
    }
    if (info.getLocation().isValid() && info.hasSourceManager()) {
      // The presumed location is the expansion location adjusted by #line
      // directives: what the policy author wrote, not the generated line.
      clang::PresumedLoc where = info.getSourceManager().getPresumedLoc(info.getLocation());
      if (where.isValid()) {
        d.file = where.getFilename();
        d.line = where.getLine();
        d.column = where.getColumn();
      }
    }
    out_.push_back(std::move(d));
  }

 private:
  std::vector<BpfDiagnostic>& out_;
};

void add_error(BpfBuildResult& result, std::string message) {
  BpfDiagnostic d;
  d.severity = BpfDiagnostic::Severity::kError;
  d.message = std::move(message);
  result.diagnostics.push_back(std::move(d));
}

// Registers the BPF target with LLVM, once per process. Only BPF: the host
// targets are never needed. The asm parser is for inline asm, which
// libbpf's headers use (barrier_var, bpf_tail_call_static).
void initialise_bpf_target() {
  static std::once_flag once;
  std::call_once(once, [] {
    LLVMInitializeBPFTargetInfo();
    LLVMInitializeBPFTarget();
    LLVMInitializeBPFTargetMC();
    LLVMInitializeBPFAsmPrinter();
    LLVMInitializeBPFAsmParser();
  });
}

// Clang's resource directory (stddef.h, stdint.h, stdarg.h, ...): the one
// CMake found next to the linked LLVM, else the one the driver derives from
// its binary's location. Empty when neither holds include/stddef.h.
const std::string& resource_dir() {
  static const std::string dir = [] {
    const std::string candidates[] = {
        FSPOL_CLANG_RESOURCE_DIR,
        clang::driver::Driver::GetResourcesPath(FSPOL_CLANG_EXECUTABLE),
    };
    for (const std::string& candidate : candidates) {
      llvm::SmallString<256> probe(candidate);
      llvm::sys::path::append(probe, "include", "stddef.h");
      if (llvm::sys::fs::exists(probe)) return candidate;
    }
    return std::string();
  }();
  return dir;
}

// `name` as the in-memory file system stores it: relative names under the
// virtual working directory.
std::string virtual_path(const std::string& name) {
  if (llvm::sys::path::is_absolute(name)) return name;
  llvm::SmallString<256> path(kVirtualDir);
  llvm::sys::path::append(path, name);
  return std::string(path.str());
}

// The Clang driver's view of `clang -target bpf -O2 -g -mcpu=v3 -c`, with
// the host kept out: no default config file, no standard system include
// directories, the compilation directory fixed. Null when the driver
// rejected the arguments (its diagnostics are then in the engine).
std::shared_ptr<clang::CompilerInvocation> make_invocation(
    const BpfSource& source, const std::string& resources,
    llvm::IntrusiveRefCntPtr<llvm::vfs::FileSystem> files,
    llvm::IntrusiveRefCntPtr<clang::DiagnosticsEngine> diags) {
  const std::string main_path = virtual_path(source.main_name);
  const std::string compilation_dir = std::string("-ffile-compilation-dir=") + kVirtualDir;
  std::vector<std::string> defines;
  for (const std::string& define : source.defines) defines.push_back("-D" + define);

  std::vector<const char*> args = {
      FSPOL_CLANG_EXECUTABLE,
      "--no-default-config",
      "-target",
      "bpf",
      "-O2",
      "-g",
      "-mcpu=v3",
      "-c",
      "-nostdlibinc",
      "-resource-dir",
      resources.c_str(),
      compilation_dir.c_str(),
  };
  for (const std::string& define : defines) args.push_back(define.c_str());
  // The driver checks that the input exists, through `files`, whose
  // working directory is the caller's: hence the absolute virtual path.
  args.insert(args.end(), {"-x", "c", main_path.c_str()});

  clang::CreateInvocationOptions options;
  options.Diags = diags;
  options.VFS = files;
  std::unique_ptr<clang::CompilerInvocation> made = clang::createInvocation(args, options);
  if (!made) return nullptr;
  std::shared_ptr<clang::CompilerInvocation> invocation(std::move(made));

  // The input by the name the caller chose, so diagnostics and DW_AT_name
  // say "policy.bpf.c" (relative to the comp_dir), as `clang -c
  // policy.bpf.c` run in /fspol would.
  clang::FrontendOptions& frontend = invocation->getFrontendOpts();
  frontend.Inputs.clear();
  frontend.Inputs.emplace_back(source.main_name, clang::InputKind(clang::Language::C));
  // The output goes to the stream set on the CompilerInstance. Should
  // anything still open this path, it fails (the directory does not exist
  // on disk) instead of writing somewhere.
  frontend.OutputFile = virtual_path("fspol-output-is-in-memory.o");
  // The driver asks cc1 to leak its memory at exit; we are not exiting.
  frontend.DisableFree = false;
  invocation->getFileSystemOpts().WorkingDir = kVirtualDir;

  // Search paths are ours alone: the driver also adds CPATH and
  // C_INCLUDE_PATH from the environment, which would make the object
  // depend on the caller's environment.
  clang::HeaderSearchOptions& search = invocation->getHeaderSearchOpts();
  search.UserEntries.clear();
  search.UseStandardSystemIncludes = false;
  search.UseBuiltinIncludes = true;
  search.AddPath(kVirtualDir, clang::frontend::Angled, /*IsFramework=*/false,
                 /*IgnoreSysRoot=*/true);
  for (const std::string& dir : source.include_dirs) {
    llvm::SmallString<256> absolute(dir);
    llvm::sys::fs::make_absolute(absolute);
    search.AddPath(absolute.str(), clang::frontend::Angled, /*IsFramework=*/false,
                   /*IgnoreSysRoot=*/true);
  }

  // __DATE__ and __TIME__ as of the epoch, whatever the clock or a
  // SOURCE_DATE_EPOCH in the environment says: same input, same bytes.
  invocation->getPreprocessorOpts().SourceDateEpoch = 0;

  // N.B. the BPF backend (BTFDebug::populateFileContent) reads each
  // file's text for the line strings of .BTF.ext from the real disk at
  // comp_dir/name, not through our file system. Virtual files and #line
  // targets are not there (we assume no host has a /fspol directory; one
  // that had would see its files' lines in BTF), so their line strings are
  // empty: the verifier log shows ";  @ x.fspol:12" without the text.
  // `-gembed-source` would fill them from the buffers, but for #line
  // targets with the text of the C file, which is worse than none.

  // ShowCarets makes ExecuteAction print "N warnings generated." itself.
  invocation->getDiagnosticOpts().ShowCarets = false;
  invocation->getDiagnosticOpts().ShowColors = false;
  return invocation;
}

bool has_error(const BpfBuildResult& result) {
  for (const BpfDiagnostic& d : result.diagnostics) {
    if (d.severity == BpfDiagnostic::Severity::kError) return true;
  }
  return false;
}

// Puts the sources into an in-memory file system over the real one (for
// include_dirs and the resource directory). Null, with a diagnostic, when
// two virtual files collide. Every virtual file has mtime 0.
llvm::IntrusiveRefCntPtr<llvm::vfs::FileSystem> make_files(const BpfSource& source,
                                                           BpfBuildResult& result) {
  auto memory = llvm::makeIntrusiveRefCnt<llvm::vfs::InMemoryFileSystem>();
  memory->setCurrentWorkingDirectory(kVirtualDir);
  auto add_file = [&](const std::string& name, const std::string& text) {
    if (name.empty()) {
      add_error(result, "a virtual header has an empty name");
      return;
    }
    const std::string path = virtual_path(name);
    if (!memory->addFile(path, 0, llvm::MemoryBuffer::getMemBufferCopy(text, path))) {
      add_error(result, "virtual file '" + name + "' given twice, or inside another file's name");
    }
  };
  add_file(source.main_name, source.main_text);
  for (const auto& [name, text] : source.headers) add_file(name, text);
  if (has_error(result)) return nullptr;
  // A physical file system of our own, not the process-wide one, so that
  // nothing can change the process's working directory through it.
  llvm::IntrusiveRefCntPtr<llvm::vfs::FileSystem> real(
      llvm::vfs::createPhysicalFileSystem().release());
  auto files = llvm::makeIntrusiveRefCnt<llvm::vfs::OverlayFileSystem>(real);
  files->pushOverlay(memory);
  return files;
}

// The build proper: driver, then EmitObjAction with the output in memory.
// Returns the object, or an empty string with the reason in diagnostics.
std::string run_clang(const BpfSource& source, const std::string& resources,
                      CollectingConsumer& collector, BpfBuildResult& result) {
  llvm::IntrusiveRefCntPtr<llvm::vfs::FileSystem> files = make_files(source, result);
  if (!files) return std::string();
  llvm::IntrusiveRefCntPtr<clang::DiagnosticsEngine> driver_diags =
      clang::CompilerInstance::createDiagnostics(new clang::DiagnosticOptions(), &collector,
                                                 /*ShouldOwnClient=*/false);
  std::shared_ptr<clang::CompilerInvocation> invocation =
      make_invocation(source, resources, files, driver_diags);
  if (!invocation || has_error(result)) {
    if (!has_error(result)) add_error(result, "the Clang driver made no compiler invocation");
    return std::string();
  }

  clang::CompilerInstance compiler;
  compiler.setInvocation(std::move(invocation));
  compiler.createDiagnostics(&collector, /*ShouldOwnClient=*/false);
  compiler.createFileManager(files);
  compiler.createSourceManager(compiler.getFileManager());
  compiler.setVerboseOutputStream(std::make_unique<llvm::raw_null_ostream>());
  // CodeGenAction takes this stream instead of opening FrontendOpts.OutputFile.
  llvm::SmallVector<char, 0> object;
  compiler.setOutputStream(std::make_unique<llvm::raw_svector_ostream>(object));

  clang::EmitObjAction action;
  const bool built = compiler.ExecuteAction(action);
  if (!built || has_error(result)) {
    if (!has_error(result)) add_error(result, "the BPF build failed without a diagnostic");
    return std::string();
  }
  if (object.empty()) add_error(result, "the BPF build produced no object");
  return std::string(object.begin(), object.end());
}

// LLVM's report_fatal_error ends here (the BPF backend uses it for some
// unsupported C, e.g. returning an __int128). Like clang's own cc1 handler
// it does not return: it leaves through the CrashRecoveryContext that
// build_bpf_object runs the build in. Outside one, LLVM aborts after it.
void on_fatal_error(void* user_data, const char* reason, bool /*gen_crash_diag*/) {
  add_error(*static_cast<BpfBuildResult*>(user_data), std::string("error in backend: ") + reason);
  if (llvm::CrashRecoveryContext* recovery = llvm::CrashRecoveryContext::GetCurrent()) {
    recovery->HandleExit(1);
  }
}

}  // namespace

BpfBuildResult build_bpf_object(const BpfSource& source) {
  BpfBuildResult result;
  if (source.main_name.empty() || source.main_name == "-") {
    // ("-" would make Clang read its standard input.)
    add_error(result, "no name given for the BPF C source");
    return result;
  }
  for (const std::string& define : source.defines) {
    // An empty one would make the driver take the next argument as the macro.
    if (define.empty()) {
      add_error(result, "an empty macro definition");
      return result;
    }
  }
  const std::string& resources = resource_dir();
  if (resources.empty()) {
    add_error(result, std::string("Clang resource directory (include/stddef.h) not found in ") +
                          FSPOL_CLANG_RESOURCE_DIR + " or next to " + FSPOL_CLANG_EXECUTABLE);
    return result;
  }
  initialise_bpf_target();

  // Fatal LLVM errors and crashes inside the build come back here, as in
  // clang's in-process cc1 (CC1Command::Execute): what the build allocated
  // is leaked then, the process lives on. Crash recovery installs signal
  // handlers, so it is on only during the call.
  // N.B. this turns crash recovery off afterwards even if the caller had
  // enabled it; LLVM cannot tell whether it was on.
  CollectingConsumer collector(result.diagnostics);
  std::string object;
  llvm::CrashRecoveryContext recovery;
  {
    llvm::ScopedFatalErrorHandler fatal(on_fatal_error, &result);
    llvm::CrashRecoveryContext::Enable();
    const void* stack_state = llvm::SavePrettyStackState();
    const bool finished =
        recovery.RunSafely([&] { object = run_clang(source, resources, collector, result); });
    llvm::CrashRecoveryContext::Disable();
    if (!finished) {
      llvm::RestorePrettyStackState(stack_state);
      // RetCode is 128 + the signal for a crash, 1 from on_fatal_error.
      if (llvm::CrashRecoveryContext::isCrash(recovery.RetCode)) {
        add_error(result,
                  "the compiler crashed (signal " + std::to_string(recovery.RetCode - 128) + ")");
      } else if (!has_error(result)) {
        add_error(result, "the compiler stopped (code " + std::to_string(recovery.RetCode) + ")");
      }
      return result;
    }
  }
  if (object.empty() || has_error(result)) return result;
  result.object = std::move(object);
  result.ok = true;
  return result;
}

}  // namespace fspol::codegen
