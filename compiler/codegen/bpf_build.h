#pragma once
// In-process BPF build: BPF C text to a BPF ELF object, with the Clang and
// LLVM 19 libraries linked into the calling program instead of a `clang`
// subprocess and temporary files.
//
//   fspol::codegen::BpfSource src;
//   src.main_name = "policy.bpf.c";
//   src.main_text = emitted_c;               // may carry #line "x.fspol" directives
//   src.headers = {{"policy.fspol.h", emitted_header}};
//   src.include_dirs = {"/usr/include", "/usr/include/x86_64-linux-gnu"};
//   fspol::codegen::BpfBuildResult out = fspol::codegen::build_bpf_object(src);
//   for (const auto& d : out.diagnostics) report(d.file, d.line, d.column, d.message);
//   if (out.ok) write_or_load(out.object);   // e.g. bpf_object__open_mem()
//
// The build is `clang -target bpf -O2 -g -mcpu=v3 -c` (the Clang driver
// computes the same compiler invocation, in process), so the object carries
// .BTF and .BTF.ext as libbpf needs for CO-RE and struct_ops. It is
// hermetic and deterministic: the sources live in an in-memory file system
// under the fixed virtual working directory "/fspol", which is also the
// DWARF comp_dir; no default config file, CPATH or system include directory
// of the host takes part; __DATE__ and __TIME__ are those of the epoch; the
// same BpfSource gives the same bytes whatever the caller's working
// directory. Nothing is written to disk or stderr and no process is
// started.
//
// One difference from running clang-19 on a file on disk: the BPF backend
// reads the source lines for .BTF.ext from disk, so lines of virtual files
// (and of #line targets) carry no text in BTF. File names and line numbers
// are kept: a 6.18 verifier log shows ";  @ x.fspol:12" where clang-19 run
// in the file's directory gives "; return x; @ x.fspol:12"; kernels that
// print only the text (6.1 does, as far as we know) show an empty ";".
//
// This header names no LLVM or Clang type: only the target fspol_bpf_build
// links those libraries, and only its users see them.

#include <string>
#include <utility>
#include <vector>

namespace fspol::codegen {

// The C sources of one BPF object. Virtual names are relative to the
// virtual working directory "/fspol" (an absolute name is used as is).
struct BpfSource {
  // The virtual path of the translation unit, e.g. "policy.bpf.c". It is
  // the name diagnostics and debug info use when no #line says otherwise.
  std::string main_name;
  std::string main_text;
  // Virtual files, name -> text. `#include "name"` finds them from the main
  // file and `#include <name>` finds them before any include_dirs entry.
  std::vector<std::pair<std::string, std::string>> headers;
  // Real directories searched by #include, in order, after the virtual
  // files, as `-I` would (e.g. "/usr/include" for <bpf/bpf_helpers.h>).
  // Relative ones are taken from the caller's working directory. The host's
  // standard system directories are never searched unless listed here;
  // Clang's own headers (stddef.h, stdint.h, ...) always are.
  std::vector<std::string> include_dirs;
  // Macro definitions, "NAME" or "NAME=VALUE", as `-D` would.
  std::vector<std::string> defines;
};

// One message from the compiler, at the location Clang presumes: a
// `#line 12 "examples/x.fspol"` directive makes the next line
// examples/x.fspol:12. Diagnostics without a location (options, the
// environment) have an empty file and line 0.
struct BpfDiagnostic {
  enum class Severity { kNote, kWarning, kError };

  std::string file;
  unsigned line = 0;    // 1-based; 0 when there is no location
  unsigned column = 0;  // 1-based, counting bytes; 0 when there is no location
  Severity severity = Severity::kError;
  // Clang's text; a warning ends with its option, e.g. " [-Wunused-value]".
  std::string message;
};

// What build_bpf_object produced.
struct BpfBuildResult {
  // True when the object was built; warnings do not make it false.
  bool ok = false;
  // The ELF relocatable object (e_machine EM_BPF); empty when !ok.
  std::string object;
  // Every diagnostic, in the order Clang reported it (notes follow the
  // error or warning they belong to).
  std::vector<BpfDiagnostic> diagnostics;
};

// Compiles `source` to a BPF object as described at the top of this file.
// Mistakes in the C and problems of the environment (a missing Clang
// resource directory, an unreadable include) are reported as diagnostics
// with ok == false, never by exception or abort. So are LLVM's fatal
// errors and crashes inside Clang (caught as clang's in-process cc1 does,
// with LLVM's crash recovery, whose signal handlers are installed only for
// the call; the memory of such a failed build is leaked).
// Thread-compatible: calls from several threads at once are not supported
// (LLVM's fatal error handler is process-wide); one call at a time from any
// thread is.
BpfBuildResult build_bpf_object(const BpfSource& source);

}  // namespace fspol::codegen
