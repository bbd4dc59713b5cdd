#include "log.h"

#include <atomic>
#include <cstdarg>
#include <ctime>
#include <mutex>

namespace fspol::runtime {
namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
std::FILE* g_file = nullptr;
std::mutex g_mu;
const char* const kNames[] = {"error", "warning", "info", "debug"};
}  // namespace

void log_set_level(LogLevel level) { g_level.store(static_cast<int>(level)); }
void log_set_file(std::FILE* file) { g_file = file; }
bool log_enabled(LogLevel level) { return static_cast<int>(level) <= g_level.load(); }

void log_write(LogLevel level, const char* format, ...) {
  if (!log_enabled(level)) return;
  std::lock_guard lock(g_mu);
  std::FILE* out = g_file != nullptr ? g_file : stderr;
  std::fprintf(out, "fsrun: %s: ", kNames[static_cast<int>(level)]);
  va_list ap;
  va_start(ap, format);
  std::vfprintf(out, format, ap);
  va_end(ap);
  std::fputc('\n', out);
  std::fflush(out);
}

}  // namespace fspol::runtime
