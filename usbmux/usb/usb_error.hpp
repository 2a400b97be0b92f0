#pragma once
// libusb's error numbers as std::error_code, so they travel with the engine's codes.
// The message keeps libusb's own name (LIBUSB_ERROR_NO_DEVICE) for log lines.
#include <system_error>

namespace tether::usb {

const std::error_category& libusb_category() noexcept;
inline std::error_code libusb_error(int code) noexcept { return {code, libusb_category()}; }

}  // namespace tether::usb
