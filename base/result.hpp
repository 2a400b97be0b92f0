#pragma once
// The one value-or-error type of every layer (C++20 has no std::expected; this is the
// small part of it we need). The error is a std::error_code of the layer's own
// category (usbmux::errc, usbmux::link_errc, proto's, daemon_errc, or the system's),
// with an optional detail: the sentence for a person, quoting the offending values
// ("'10.0.0.1' is not a loopback address"). describe() gives the detail when there
// is one and the code's message otherwise, so callers print one thing.
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>

namespace tether::base {

// The words for a log line or a client: the detail if any, else the code's message.
inline std::string describe(std::error_code ec, const std::string& detail) {
  return detail.empty() ? ec.message() : detail;
}

template <class T>
class result {
 public:
  result(T value) : value_(std::move(value)) {}        // NOLINT: implicit by design
  result(std::error_code ec, std::string detail = {})  // NOLINT
      : ec_(ec), detail_(std::move(detail)) {}
  template <class E, class = std::enable_if_t<std::is_error_code_enum_v<E>>>
  result(E e, std::string detail = {})  // NOLINT
      : ec_(make_error_code(e)), detail_(std::move(detail)) {}

  explicit operator bool() const noexcept { return !ec_; }
  const T& value() const& { return value_; }
  T& value() & { return value_; }
  T&& value() && { return std::move(value_); }
  const T& operator*() const& { return value_; }
  T& operator*() & { return value_; }
  const T* operator->() const { return &value_; }
  T* operator->() { return &value_; }
  std::error_code error() const noexcept { return ec_; }
  const std::string& detail() const noexcept { return detail_; }
  std::string describe() const { return base::describe(ec_, detail_); }

 private:
  T value_{};
  std::error_code ec_;
  std::string detail_;
};

// Success or an error, for what has no value to return: `return {};` is success.
template <>
class result<void> {
 public:
  result() = default;
  result(std::error_code ec, std::string detail = {})  // NOLINT
      : ec_(ec), detail_(std::move(detail)) {}
  template <class E, class = std::enable_if_t<std::is_error_code_enum_v<E>>>
  result(E e, std::string detail = {})  // NOLINT
      : ec_(make_error_code(e)), detail_(std::move(detail)) {}

  explicit operator bool() const noexcept { return !ec_; }
  std::error_code error() const noexcept { return ec_; }
  const std::string& detail() const noexcept { return detail_; }
  std::string describe() const { return base::describe(ec_, detail_); }

 private:
  std::error_code ec_;
  std::string detail_;
};

}  // namespace tether::base
