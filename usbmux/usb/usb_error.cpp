#include "usbmux/usb/usb_error.hpp"

#include <libusb.h>

#include <string>

namespace tether::usb {
namespace {

class usb_error_category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "libusb"; }
  std::string message(int value) const override {
    return std::string(libusb_strerror(value)) + " (" + libusb_error_name(value) + ")";
  }
};

}  // namespace

const std::error_category& libusb_category() noexcept {
  static const usb_error_category instance;
  return instance;
}

}  // namespace tether::usb
