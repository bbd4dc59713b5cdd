#pragma once
// One logging facility for the runtime (STYLE 9.4): levels, printf-style,
// to stderr or a file chosen at startup. Handlers log only at debug level.

#include <cstdio>

namespace fspol::runtime {

enum class LogLevel : int { kError = 0, kWarn = 1, kInfo = 2, kDebug = 3 };

void log_set_level(LogLevel level);
void log_set_file(std::FILE* file);  // not owned; nullptr: stderr
bool log_enabled(LogLevel level);
void log_write(LogLevel level, const char* format, ...) __attribute__((format(printf, 2, 3)));

}  // namespace fspol::runtime

#define log_error(...) ::fspol::runtime::log_write(::fspol::runtime::LogLevel::kError, __VA_ARGS__)
#define log_warn(...) ::fspol::runtime::log_write(::fspol::runtime::LogLevel::kWarn, __VA_ARGS__)
#define log_info(...) ::fspol::runtime::log_write(::fspol::runtime::LogLevel::kInfo, __VA_ARGS__)
#define log_debug(...)                                                          \
  do {                                                                          \
    if (::fspol::runtime::log_enabled(::fspol::runtime::LogLevel::kDebug))      \
      ::fspol::runtime::log_write(::fspol::runtime::LogLevel::kDebug, __VA_ARGS__); \
  } while (0)
