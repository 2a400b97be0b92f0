#include "daemon/usb_phones.hpp"

#include <unistd.h>

#include "usbmux/usb/usb_error.hpp"

#include "base/log.hpp"

namespace tether::daemon {

void usb_phones::on_attach_failed(std::uint8_t bus, std::uint8_t address, const std::string& what,
                                  std::error_code ec) {
  std::string hint;
  if (ec == usb::libusb_error(LIBUSB_ERROR_ACCESS))
    hint = " (tetherd runs as uid " + std::to_string(::getuid()) +
           ": install tether's udev rules, or run it as a user that may open USB devices)";
  else if (ec == usb::libusb_error(LIBUSB_ERROR_BUSY))
    hint = " (another program holds the phone's usbmux interface: is usbmuxd running?)";
  log::warn("phone at " + std::to_string(bus) + "-" + std::to_string(address) + ": " + what + ": " +
            ec.message() + hint);
}

}  // namespace tether::daemon
