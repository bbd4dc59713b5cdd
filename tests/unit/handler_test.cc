// The shipped handlers (runtime/handlers/) and the registry, without a
// mount: what each pattern of redact_secrets leaves of a line.
#include <gtest/gtest.h>
#include <zlib.h>

#include <string>

#include "fspol/runtime/handler.h"

namespace fspol::runtime {
namespace {

std::string redact(const std::string& in) {
  auto h = HandlerRegistry::builtin().find("redact_secrets");
  EXPECT_NE(h, nullptr);
  auto out = h->read("/app.log", in);
  EXPECT_TRUE(out.ok());
  return out.ok() ? *out : "";
}

TEST(RedactSecrets, NamedValues) {
  EXPECT_EQ(redact("login ok password=hunter2 next\n"), "login ok password=[redacted] next\n");
  EXPECT_EQ(redact("{\"api_key\": \"abc123def\", \"n\": 1}"), "{\"api_key\": [redacted], \"n\": 1}");
  EXPECT_EQ(redact("DB_PASSWORD: 's3cr3t pass'"), "DB_PASSWORD: [redacted]");
  EXPECT_EQ(redact("client_secret=x&user=bob"), "client_secret=[redacted]&user=bob");
  EXPECT_EQ(redact("Token:abcdef;"), "Token:[redacted];");
}

TEST(RedactSecrets, Credentials) {
  EXPECT_EQ(redact("Authorization: Bearer abc.def-ghi_123"), "Authorization: Bearer [redacted]");
  EXPECT_EQ(redact("fetch https://bob:pa55w0rd@db.example.org/x"),
            "fetch https://[redacted]@db.example.org/x");
  EXPECT_EQ(redact("key AKIAABCDEFGHIJKLMNOP used"), "key [redacted-token] used");
  EXPECT_EQ(redact("gh ghp_abcdefghijklmnopqrstuvwxyz0123456789"), "gh [redacted-token]");
  EXPECT_EQ(redact("jwt eyJhbGciOi.eyJzdWIiOiIx.SflKxwRJSM end"), "jwt [redacted-token] end");
}

TEST(RedactSecrets, Emails) {
  EXPECT_EQ(redact("mail to alice.smith+x@mail.example.com."), "mail to [redacted-email].");
  EXPECT_EQ(redact("not@an-address and a@b"), "not@an-address and a@b");
}

TEST(RedactSecrets, LeavesOtherBytesAlone) {
  const char kBinary[] = "\x00\xff\xfe password=\xc3\x28 x";
  const char kWant[] = "\x00\xff\xfe password=[redacted] x";
  std::string binary(kBinary, sizeof kBinary - 1);
  std::string want(kWant, sizeof kWant - 1);
  EXPECT_EQ(redact(binary), want);
  EXPECT_EQ(redact(""), "");
  EXPECT_EQ(redact("GET /index.html 200\n"), "GET /index.html 200\n");
}

std::string gzip(const std::string& in) {
  z_stream z{};
  deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, in.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

TEST(RedactSecrets, GzipIsRedactedInside) {
  // Two members, as `cat a.gz b.gz` makes: both are redacted.
  std::string in = gzip("password=one\n") + gzip("to bob@example.com\n");
  EXPECT_EQ(redact(in), gzip("password=[redacted]\nto [redacted-email]\n"));
  auto h = HandlerRegistry::builtin().find("redact_secrets");
  auto broken = h->read("/x.gz", in.substr(0, in.size() / 2));
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.error().code, EIO);
}

TEST(HandlerRegistry, FindsWhatWasAdded) {
  class Upper : public Handler {
   public:
    Result<std::string> read(std::string_view, std::string_view in) const override {
      return std::string(in.size(), 'U');
    }
  };
  HandlerRegistry r = HandlerRegistry::builtin();
  EXPECT_EQ(r.find("upper"), nullptr);
  r.add("upper", std::make_shared<Upper>());
  ASSERT_NE(r.find("upper"), nullptr);
  EXPECT_EQ(*r.find("upper")->read("/", "abc"), "UUU");
  EXPECT_NE(r.find("redact_secrets"), nullptr);
}

}  // namespace
}  // namespace fspol::runtime
