#pragma once
// Diagnostics: how fspol tells a user what is wrong with a policy.
//
//   Diagnostics diags;
//   diags.error(range, "unknown operation 'wrte'").note(range, "did you mean 'write'?");
//   diags.render(std::cerr, sources, RenderOptions{});
//
// Rendered in the GCC/Clang shape (docs/fsc.md, "Diagnostics"):
//
//   home.fspol:12:6: error: unknown operation 'wrte'
//     deny wrte on "/home/*/secret";
//          ^~~~
//   home.fspol:12:6: note: did you mean 'write'?
//   1 error generated.

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "fspol/source.h"

namespace fspol {

enum class Severity : uint8_t { kNote, kWarning, kError };

struct Note {
  SourceRange range;  // may be invalid: the note then has no location
  std::string message;
};

struct Diagnostic {
  Severity severity = Severity::kError;
  SourceRange range;
  std::string message;
  // For warnings: the -W name that controls them, printed as [-W<name>].
  std::string flag;
  std::vector<Note> notes;

  // Attaches a follow-up note; returns *this so calls chain.
  Diagnostic& note(SourceRange where, std::string text);
};

struct RenderOptions {
  bool color = false;
  // One JSON document instead of text (docs/fsc.md, "Diagnostics as JSON").
  bool json = false;
};

// -W options: which named warnings are off, and whether warnings are errors.
struct WarningOptions {
  std::vector<std::string> disabled;  // names without -W
  bool as_errors = false;             // -Werror
};

// The sink every pass reports into. Passes never throw for user mistakes;
// they add diagnostics here and report failure through their return value.
class Diagnostics {
 public:
  // After this many errors further ones are dropped and the rendering ends
  // with one "too many errors" line. Passes poll limit_reached() to stop
  // early on garbage input. 0 means no limit.
  explicit Diagnostics(uint32_t error_limit = 50) : error_limit_(error_limit) {}

  Diagnostic& error(SourceRange where, std::string message);
  // A named warning; dropped when disabled, an error under -Werror.
  Diagnostic& warning(std::string flag, SourceRange where, std::string message);
  void set_warning_options(WarningOptions options) { warning_options_ = std::move(options); }

  bool has_errors() const { return error_count_ > 0; }
  uint32_t error_count() const { return error_count_; }
  uint32_t warning_count() const { return warning_count_; }
  bool limit_reached() const { return error_limit_ != 0 && error_count_ >= error_limit_; }
  const std::vector<Diagnostic>& all() const { return diags_; }

  // Sorts by (file, line, column, severity): errors before warnings at the
  // same place, and insertion order among equals.
  void sort();
  // Prints every diagnostic, sorted, then the "N errors generated." summary
  // (nothing when there is nothing to say).
  void render(std::ostream& out, const SourceManager& sources, const RenderOptions& options);
  void render_json(std::ostream& out, const SourceManager& sources) const;

 private:
  std::vector<Diagnostic> diags_;
  Diagnostic overflow_sink_;  // receives diagnostics past the limit
  uint32_t error_limit_;
  uint32_t error_count_ = 0;
  uint32_t warning_count_ = 0;
  bool overflowed_ = false;
  WarningOptions warning_options_;
};

// Picks the candidate closest to `word` by edit distance, or "" when none is
// close enough to be a plausible typo. Used for "did you mean" notes.
std::string closest_match(std::string_view word, const std::vector<std::string_view>& candidates);

}  // namespace fspol
