#pragma once
// Userspace handlers: C++ code a policy hands operations to.
//
//   handle read on file "/**/*.log" with redact_secrets unless gid == adm;
//
// A handler serves `read`: what a caller the rule applies to reads from a
// file (or, for a symlink, the target it reads). It is a pure function of
// the view path and the lower contents, so the runtime may compute it once
// per version of a file and share the result between callers the rule
// serves; who the caller is decides only *whether* the handler serves
// them, through the rule's condition.
//
//   class Upper : public fspol::runtime::Handler {
//    public:
//     fspol::Result<std::string> read(std::string_view, std::string_view in) const override {
//       std::string out(in);
//       for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
//       return out;
//     }
//   };
//   fspol::runtime::HandlerRegistry handlers = fspol::runtime::HandlerRegistry::builtin();
//   handlers.add("upper", std::make_shared<Upper>());
//   auto policy = fspol::runtime::load_policy(path, {}, std::cerr, {}, handlers);
//
// A policy naming a handler the registry lacks, or handing it an operation
// other than read, is refused at mount with a located error. How the view
// shows handled files (sizes, mmap, caching, writes) is in docs/runtime.md.

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "fspol/result.h"

namespace fspol::runtime {

class Handler {
 public:
  virtual ~Handler() = default;
  // The contents a served caller reads from the file at view path `path`
  // whose lower contents are `contents` (at most kMaxHandledSize bytes).
  // Must give the same output for the same input, and must be safe to
  // call from several threads at once. An Error fails the caller's open
  // (or readlink) with its code (EIO when 0) and is logged.
  virtual Result<std::string> read(std::string_view path, std::string_view contents) const = 0;
};

// Files larger than this are not handed to a handler: opening one for a
// caller the handler serves fails with EFBIG.
inline constexpr size_t kMaxHandledSize = size_t{256} << 20;

// The handlers a policy's `with NAME` resolve against.
class HandlerRegistry {
 public:
  // The handlers fsrun ships: redact_secrets (docs/runtime.md).
  static HandlerRegistry builtin();

  // Adds or replaces the handler called `name`.
  void add(std::string name, std::shared_ptr<const Handler> handler);
  // The handler called `name`, or null.
  std::shared_ptr<const Handler> find(std::string_view name) const;

 private:
  std::map<std::string, std::shared_ptr<const Handler>, std::less<>> handlers_;
};

}  // namespace fspol::runtime
