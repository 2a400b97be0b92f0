#include "usbmux/core/link_errc.hpp"

#include <string>

namespace tether::usbmux {
namespace {

class link_error_category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "tether.link"; }

  std::string message(int value) const override {
    switch (static_cast<link_errc>(value)) {
      // The word the logs have always used for it ("detached UDID (device 1): unplugged").
      case link_errc::unplugged: return "unplugged";
      case link_errc::transfer_failed: return "a USB transfer to or from the phone failed";
      case link_errc::protocol_error: return "the phone broke the mux protocol";
      case link_errc::handshake_failed: return "the phone did not answer the mux VERSION handshake";
      case link_errc::shut_down: return "the link was shut down";
    }
    return "unknown link error";
  }
};

}  // namespace

const std::error_category& link_category() noexcept {
  static const link_error_category instance;
  return instance;
}

}  // namespace tether::usbmux
