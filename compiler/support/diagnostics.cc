#include "fspol/diagnostics.h"

#include <algorithm>
#include <string>
#include <tuple>

#include "support/json.h"

namespace fspol {

Diagnostic& Diagnostic::note(SourceRange where, std::string text) {
  notes.push_back(Note{where, std::move(text)});
  return *this;
}

Diagnostic& Diagnostics::error(SourceRange where, std::string message) {
  if (limit_reached()) {
    overflow_sink_ = Diagnostic{};
    return overflow_sink_;
  }
  ++error_count_;
  // Passes stop once the limit is reached, so say so now, not when (if
  // ever) one more error arrives.
  overflowed_ = limit_reached();
  diags_.push_back(Diagnostic{Severity::kError, where, std::move(message), "", {}});
  return diags_.back();
}

Diagnostic& Diagnostics::warning(std::string flag, SourceRange where, std::string message) {
  const auto& off = warning_options_.disabled;
  if (std::find(off.begin(), off.end(), flag) != off.end()) {
    overflow_sink_ = Diagnostic{};
    return overflow_sink_;
  }
  if (warning_options_.as_errors) {
    Diagnostic& d = error(where, std::move(message));
    d.flag = "error,-W" + flag;
    return d;
  }
  ++warning_count_;
  diags_.push_back(
      Diagnostic{Severity::kWarning, where, std::move(message), std::move(flag), {}});
  return diags_.back();
}

void Diagnostics::sort() {
  // Offsets order the same way as (line, column) within one file; the
  // index keeps insertion order among equals (a stable sort by hand:
  // libstdc++ 12's std::stable_sort trips clang-19's deprecation warnings).
  std::vector<size_t> order(diags_.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  auto key = [&](size_t i) {
    const Diagnostic& d = diags_[i];
    return std::make_tuple(d.range.file, d.range.begin, -static_cast<int>(d.severity), i);
  };
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return key(a) < key(b); });
  std::vector<Diagnostic> sorted;
  sorted.reserve(diags_.size());
  for (size_t i : order) sorted.push_back(std::move(diags_[i]));
  diags_ = std::move(sorted);
}

namespace {

// Lines longer than this are shown as a window around the range.
constexpr size_t kMaxShownLine = 100;
constexpr size_t kContextBefore = 40;

const char* severity_name(Severity s) {
  switch (s) {
    case Severity::kNote:
      return "note";
    case Severity::kWarning:
      return "warning";
    case Severity::kError:
      return "error";
  }
  return "error";
}

const char* severity_color(Severity s) {
  switch (s) {
    case Severity::kNote:
      return "\033[1;36m";
    case Severity::kWarning:
      return "\033[1;35m";
    case Severity::kError:
      return "\033[1;31m";
  }
  return "";
}

// Length of the UTF-8 sequence starting at s[i], or 0 when it is invalid.
size_t utf8_length(std::string_view s, size_t i) {
  auto c = static_cast<unsigned char>(s[i]);
  size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return 0;
  }
  return n;
}

// Builds the displayed source line and its caret line. Control bytes and
// invalid UTF-8 are shown as '?', so binary input cannot corrupt a terminal;
// tabs are copied into the caret line so columns stay aligned.
void render_snippet(std::ostream& out, std::string_view line, size_t begin, size_t end,
                    bool color) {
  size_t window_begin = 0;
  size_t window_end = line.size();
  if (line.size() > kMaxShownLine) {
    window_begin = begin > kContextBefore ? begin - kContextBefore : 0;
    window_end = std::min(line.size(), window_begin + kMaxShownLine);
    // Do not cut a UTF-8 sequence in half.
    while (window_begin > 0 && (static_cast<unsigned char>(line[window_begin]) & 0xc0) == 0x80)
      --window_begin;
    while (window_end < line.size() &&
           (static_cast<unsigned char>(line[window_end]) & 0xc0) == 0x80)
      ++window_end;
  }
  std::string shown;
  std::string carets;
  if (window_begin > 0) {
    shown += "...";
    carets += "   ";
  }
  for (size_t i = window_begin; i < window_end;) {
    size_t n = utf8_length(line, i);
    char mark = i < begin ? ' ' : i == begin ? '^' : i < end ? '~' : '\0';
    auto c = static_cast<unsigned char>(line[i]);
    if (c == '\t') {
      shown += '\t';
      if (mark) carets += mark == ' ' ? '\t' : mark;
    } else if (n == 0 || c < 0x20 || c == 0x7f ||
               (c == 0xc2 && static_cast<unsigned char>(line[i + 1]) < 0xa0)) {
      // The last case is a C1 control character (U+0080..U+009F).
      shown += '?';
      if (mark) carets += mark;
    } else {
      shown.append(line.substr(i, n));
      if (mark) carets += mark;
    }
    i += n == 0 ? 1 : n;
  }
  if (window_end < line.size()) shown += "...";
  if (begin >= window_end) carets += '^';  // a range at the end of the line
  out << shown << '\n';
  if (color) out << "\033[1;32m";
  out << carets;
  if (color) out << "\033[0m";
  out << '\n';
}

void render_location(std::ostream& out, const SourceManager& sources, SourceRange range,
                     bool color) {
  if (color) out << "\033[1m";
  if (range.valid()) {
    const SourceFile& file = sources.file(range.file);
    LineCol lc = file.line_col(range.begin);
    out << file.path() << ':' << lc.line << ':' << lc.col << ": ";
  } else {
    out << "fsc: ";
  }
  if (color) out << "\033[0m";
}

void render_one(std::ostream& out, const SourceManager& sources, const Diagnostic& d,
                bool color) {
  render_location(out, sources, d.range, color);
  if (color) out << severity_color(d.severity);
  out << severity_name(d.severity) << ": ";
  if (color) out << "\033[0m\033[1m";
  out << d.message;
  if (!d.flag.empty()) out << " [-W" << d.flag << ']';
  if (color) out << "\033[0m";
  out << '\n';
  if (d.range.valid()) {
    const SourceFile& file = sources.file(d.range.file);
    LineCol lc = file.line_col(d.range.begin);
    std::string_view line = file.line_text(lc.line);
    size_t begin = lc.col - 1;
    // A multi-line range is underlined up to the end of its first line.
    size_t end = std::min<size_t>(begin + std::max<uint32_t>(d.range.end - d.range.begin, 1),
                                  std::max(line.size(), begin + 1));
    render_snippet(out, line, begin, end, color);
  }
  for (const Note& n : d.notes) {
    render_location(out, sources, n.range.valid() ? n.range : d.range, color);
    if (color) out << severity_color(Severity::kNote);
    out << "note: ";
    if (color) out << "\033[0m";
    out << n.message << '\n';
  }
}

std::string plural(uint32_t n, const char* word) {
  return std::to_string(n) + ' ' + word + (n == 1 ? "" : "s");
}

}  // namespace

namespace {

// "file", line, column, end line and column of a range, as JSON members.
std::string json_location(const SourceManager& sources, SourceRange range) {
  if (!range.valid()) return "\"file\": null";
  const SourceFile& file = sources.file(range.file);
  LineCol begin = file.line_col(range.begin);
  LineCol end = file.line_col(std::max(range.end, range.begin));
  return "\"file\": " + json_quote(file.path()) + ", \"line\": " + std::to_string(begin.line) +
         ", \"column\": " + std::to_string(begin.col) +
         ", \"end_line\": " + std::to_string(end.line) +
         ", \"end_column\": " + std::to_string(end.col);
}

}  // namespace

void Diagnostics::render_json(std::ostream& out, const SourceManager& sources) const {
  out << "{\"diagnostics\": [";
  for (size_t i = 0; i < diags_.size(); ++i) {
    const Diagnostic& d = diags_[i];
    out << (i ? ",\n  " : "\n  ") << "{\"severity\": \"" << severity_name(d.severity) << "\", "
        << json_location(sources, d.range) << ", \"message\": " << json_quote(d.message)
        << ", \"flag\": " << (d.flag.empty() ? "null" : json_quote("-W" + d.flag))
        << ", \"notes\": [";
    for (size_t n = 0; n < d.notes.size(); ++n) {
      const Note& note = d.notes[n];
      out << (n ? ", " : "") << "{"
          << json_location(sources, note.range.valid() ? note.range : d.range)
          << ", \"message\": " << json_quote(note.message) << "}";
    }
    out << "]}";
  }
  out << (diags_.empty() ? "" : "\n") << "], \"errors\": " << error_count_
      << ", \"warnings\": " << warning_count_
      << ", \"truncated\": " << (overflowed_ ? "true" : "false") << "}\n";
  out.flush();
}

void Diagnostics::render(std::ostream& out, const SourceManager& sources,
                         const RenderOptions& options) {
  sort();
  if (options.json) return render_json(out, sources);
  for (const Diagnostic& d : diags_) render_one(out, sources, d, options.color);
  if (overflowed_) {
    out << "fsc: fatal error: too many errors emitted (" << error_limit_
        << "), stopping now; --error-limit=N shows more\n";
  }
  if (error_count_ > 0 && warning_count_ > 0) {
    out << plural(warning_count_, "warning") << " and " << plural(error_count_, "error")
        << " generated.\n";
  } else if (error_count_ > 0) {
    out << plural(error_count_, "error") << " generated.\n";
  } else if (warning_count_ > 0) {
    out << plural(warning_count_, "warning") << " generated.\n";
  }
  out.flush();
}

std::string closest_match(std::string_view word, const std::vector<std::string_view>& candidates) {
  // Damerau-Levenshtein (optimal string alignment) distance; transpositions
  // are the most common typo.
  auto distance = [](std::string_view a, std::string_view b) {
    std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
    for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
    for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
      for (size_t j = 1; j <= b.size(); ++j) {
        size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
        d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
        if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
          d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
    return d[a.size()][b.size()];
  };
  if (word.size() > 64) return "";
  std::string_view best;
  size_t best_distance = 0;
  for (std::string_view c : candidates) {
    size_t dist = distance(word, c);
    if (best.empty() || dist < best_distance) {
      best = c;
      best_distance = dist;
    }
  }
  // Allow about one edit per three characters, at least one.
  size_t allowed = std::max<size_t>(1, word.size() / 3);
  if (best.empty() || best_distance > allowed || best_distance == 0) return "";
  return std::string(best);
}

}  // namespace fspol
