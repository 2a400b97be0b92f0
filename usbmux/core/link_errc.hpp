#pragma once
// Why a phone_link went down, as a std::error_code of its own category: owners decide
// on the code (an unplug is final, a failure is retried), never on words. The detail
// that travels with it quotes the values ("USB read failed: LIBUSB_TRANSFER_ERROR").
#include <system_error>

namespace tether::usbmux {

enum class link_errc {
  unplugged = 1,     // the phone left the bus (hotplug departure, NO_DEVICE)
  transfer_failed,   // a USB transfer or its (re)submission failed; the phone may be there
  protocol_error,    // the phone broke the mux protocol (a fatal usbmux::errc)
  handshake_failed,  // the phone did not answer the mux VERSION handshake
  shut_down,         // the owner shut the link down (tetherd stopping, a test's end)
};

const std::error_category& link_category() noexcept;

inline std::error_code make_error_code(link_errc e) noexcept {
  return {static_cast<int>(e), link_category()};
}

}  // namespace tether::usbmux

template <>
struct std::is_error_code_enum<tether::usbmux::link_errc> : std::true_type {};
