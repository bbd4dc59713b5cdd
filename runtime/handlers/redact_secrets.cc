// redact_secrets (redact_secrets.h): RE2 patterns over the bytes of a
// log, in Latin-1 so that any byte sequence is text and nothing can fail
// to match for being invalid UTF-8.
#include "handlers/redact_secrets.h"

#include <re2/re2.h>
#include <zlib.h>

#include <cerrno>
#include <cstdlib>
#include <vector>

namespace fspol::runtime {
namespace {

struct Pattern {
  const char* regex;
  const char* replacement;
};

// In this order: a URL's credentials before e-mail addresses (user:pw@host
// looks like one), named values before the bare token shapes they hold.
constexpr Pattern kPatterns[] = {
    // scheme://user:password@host
    {R"(([A-Za-z][A-Za-z0-9+.-]*://)[^/\s:@]+:[^/\s@]+@)", R"(\1[redacted]@)"},
    // Authorization: Bearer <token>, Basic <credentials>
    {R"((?i)\b(bearer|basic)(\s+)[A-Za-z0-9._~+/=-]{6,})", R"(\1\2[redacted])"},
    // password=..., "api_key": "...", token: ...
    {R"((?i)\b((?:[a-z0-9]+[_-])*(?:password|passwd|pwd|passphrase|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credentials?))("?\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s,;&"']+))",
     R"(\1\2[redacted])"},
    // JSON web tokens
    {R"(\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]+)", "[redacted-token]"},
    // AWS access key ids, GitHub and Slack tokens
    {R"(\b(?:AKIA|ASIA)[0-9A-Z]{16}\b)", "[redacted-token]"},
    {R"(\bgh[pousr]_[A-Za-z0-9]{30,}\b)", "[redacted-token]"},
    {R"(\bxox[abprs]-[A-Za-z0-9-]{10,})", "[redacted-token]"},
    // e-mail addresses
    {R"([A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})", "[redacted-email]"},
};

class RedactSecrets : public Handler {
 public:
  RedactSecrets() {
    RE2::Options options;
    options.set_encoding(RE2::Options::EncodingLatin1);
    options.set_log_errors(false);
    for (const Pattern& p : kPatterns) {
      patterns_.push_back(std::make_unique<RE2>(p.regex, options));
      // A pattern that does not compile is a bug of this file.
      if (!patterns_.back()->ok()) std::abort();
    }
  }

  Result<std::string> read(std::string_view, std::string_view contents) const override {
    if (!is_gzip(contents)) return redact(contents);
    auto text = gunzip(contents);
    if (!text) return text.error();
    return gzip(redact(*text));
  }

 private:
  std::string redact(std::string_view in) const {
    std::string out(in);
    for (size_t i = 0; i < patterns_.size(); ++i) {
      RE2::GlobalReplace(&out, *patterns_[i], kPatterns[i].replacement);
    }
    return out;
  }

  static bool is_gzip(std::string_view s) {
    return s.size() >= 2 && static_cast<unsigned char>(s[0]) == 0x1f &&
           static_cast<unsigned char>(s[1]) == 0x8b;
  }

  // Every member of a gzip file, at most kMaxHandledSize bytes in all.
  static Result<std::string> gunzip(std::string_view in) {
    z_stream z{};
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) return Error{ENOMEM, "zlib: inflateInit2"};
    std::string out;
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z.avail_in = static_cast<uInt>(in.size());
    int rc = Z_OK;
    while (true) {
      if (out.size() >= kMaxHandledSize) {
        inflateEnd(&z);
        return Error{EFBIG, "the uncompressed file is larger than the handler's limit"};
      }
      size_t at = out.size();
      out.resize(at + 65536);
      z.next_out = reinterpret_cast<Bytef*>(out.data() + at);
      z.avail_out = 65536;
      rc = inflate(&z, Z_NO_FLUSH);
      out.resize(out.size() - z.avail_out);
      if (rc == Z_STREAM_END) {
        if (z.avail_in == 0) break;
        inflateReset(&z);  // the next member
        continue;
      }
      if (rc != Z_OK) break;
    }
    inflateEnd(&z);
    if (rc != Z_STREAM_END) return Error{EIO, "not a complete gzip file: nothing to redact it from"};
    return out;
  }

  // Deterministic: the header zlib writes carries no name and no time.
  static Result<std::string> gzip(const std::string& in) {
    z_stream z{};
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK) {
      return Error{ENOMEM, "zlib: deflateInit2"};
    }
    std::string out(deflateBound(&z, static_cast<uLong>(in.size())), '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z.avail_in = static_cast<uInt>(in.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    int rc = deflate(&z, Z_FINISH);
    out.resize(z.total_out);
    deflateEnd(&z);
    if (rc != Z_STREAM_END) return Error{EIO, "zlib: deflate failed"};
    return out;
  }

  std::vector<std::unique_ptr<RE2>> patterns_;
};

}  // namespace

std::shared_ptr<const Handler> make_redact_secrets() { return std::make_shared<RedactSecrets>(); }

}  // namespace fspol::runtime
