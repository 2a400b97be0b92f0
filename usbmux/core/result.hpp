#pragma once
// A value or an error code. C++20 has no std::expected; this is the small part of it we need.
#include <system_error>
#include <utility>

namespace tether::usbmux {

template <class T>
class result {
 public:
  result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  result(std::error_code ec) : ec_(ec) {}        // NOLINT
  template <class E, class = std::enable_if_t<std::is_error_code_enum_v<E>>>
  result(E e) : ec_(make_error_code(e)) {}  // NOLINT

  explicit operator bool() const noexcept { return !ec_; }
  const T& value() const& { return value_; }
  T& value() & { return value_; }
  const T& operator*() const& { return value_; }
  const T* operator->() const { return &value_; }
  std::error_code error() const noexcept { return ec_; }

 private:
  T value_{};
  std::error_code ec_;
};

}  // namespace tether::usbmux
