// Front-end throughput on generated policies: how many MB/s of policy text
// fsc lexes and parses, and formats. Run: build/bench/fspol_parser_bench
//
// The generated policy mixes every rule kind, conditions and comments in
// the proportions of the examples, so the number is representative of
// real files, only larger.

#include <benchmark/benchmark.h>

#include <string>

#include "fspol/diagnostics.h"
#include "syntax/parser.h"
#include "syntax/printer.h"

namespace {

std::string generate_policy(size_t target_bytes) {
  std::string text = "# generated benchmark policy\npolicy bench {\n  lower store = \"/srv\";\n";
  for (size_t i = 0; text.size() < target_bytes; ++i) {
    std::string n = std::to_string(i);
    switch (i % 8) {
      case 0:
        text += "  let set" + n + " = dir \"/data/" + n + "/{a,b,c}/*\", file \"/x/" + n + "/*.key\";\n";
        break;
      case 1:
        text += "  hide set" + std::to_string(i - 1) + " unless uid in 10000..19999 or comm == \"adbd\";\n";
        break;
      case 2:
        text += "  deny write, create, delete on \"/srv/" + n + "/**\" errno EPERM when gid != 0;  # why\n";
        break;
      case 3:
        text += "  attr file \"/media/" + n + "/**\" {\n    mode &= 0644;\n    uid map { 0 -> 1000, 1000 -> 0 };\n  }\n";
        break;
      case 4:
        text += "  readonly \"/ro/" + n + "/[a-z]?*.txt\" unless uid == 0;\n";
        break;
      case 5:
        text += "  rename \"/docs/" + n + "/**\" {\n    suffix \".markdown\" -> \".md\";\n  }\n";
        break;
      case 6:
        text += "  redirect \"/objects/" + n + "/**\" to store \"/v1\";\n";
        break;
      default:
        text += "  audit write, delete on \"/etc/" + n + "/**\" tag \"etc\";\n";
    }
  }
  return text + "}\n";
}

void BM_Parse(benchmark::State& state) {
  std::string text = generate_policy(static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    fspol::SourceManager sources;
    fspol::Diagnostics diags;
    fspol::FileId id = sources.add("bench.fspol", text);
    auto parsed = fspol::syntax::run_parser(id, sources.file(id), diags);
    if (diags.has_errors()) state.SkipWithError("generated policy has errors");
    benchmark::DoNotOptimize(parsed);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_Parse)->Arg(64 << 10)->Arg(10 << 20)->Unit(benchmark::kMillisecond);

void BM_Format(benchmark::State& state) {
  std::string text = generate_policy(static_cast<size_t>(state.range(0)));
  fspol::SourceManager sources;
  fspol::Diagnostics diags;
  fspol::FileId id = sources.add("bench.fspol", text);
  auto parsed = fspol::syntax::run_parser(id, sources.file(id), diags);
  for (auto _ : state) {
    benchmark::DoNotOptimize(fspol::syntax::format_file(parsed, sources.file(id)));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_Format)->Arg(10 << 20)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
