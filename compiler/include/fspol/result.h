#pragma once
// fspol::Result<T>: a value or an Error, for system and environment failures
// (files, processes, the kernel). Mistakes in a user's policy are never
// Results: they are Diagnostics (see diagnostics.h).
//
//   Result<std::string> text = read_file(path);
//   if (!text) return text.error();
//   use(*text);
//
// Shaped like std::expected so it can become an alias once C++23 is usable
// with every toolchain we build with (libstdc++ 12 ships <expected> only for
// C++23).

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace fspol {

// What went wrong, for a human: `code` is an errno value where one applies
// (0 otherwise) and `message` names the object and the reason.
struct Error {
  int code = 0;
  std::string message;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}
  Result(Error error) : state_(std::in_place_index<1>, std::move(error)) {}

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    assert(ok());
    return std::get<0>(state_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(state_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(state_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const {
    assert(!ok());
    return std::get<1>(state_);
  }

 private:
  std::variant<T, Error> state_;
};

// Result<void>: success carries no value.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const {
    assert(!ok_);
    return error_;
  }

 private:
  Error error_;
  bool ok_ = true;
};

}  // namespace fspol
