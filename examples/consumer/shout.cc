#include "shout.h"

#include <cctype>
#include <string>

namespace {

class Shout final : public fspol::runtime::Handler {
 public:
  fspol::Result<std::string> read(std::string_view, std::string_view contents) const override {
    std::string out(contents);
    for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
  }
};

}  // namespace

std::shared_ptr<const fspol::runtime::Handler> make_shout() { return std::make_shared<Shout>(); }
