#pragma once
// Joins the USB transport to the registry: usb_host reports device_links, which are
// phone_links to the registry; the failures to open a phone are logged here with a
// hint at the usual cause, since only the USB layer has them.
#include "usbmux/usb/usb_host.hpp"

#include "daemon/device_registry.hpp"

namespace tether::daemon {

class usb_phones : public usb::usb_host::listener {
 public:
  explicit usb_phones(device_registry& devices) : devices_(devices) {}

  void on_ready(usb::device_link& link) override { devices_.on_ready(link); }
  void on_event(usb::device_link& link, const usbmux::event& e) override {
    devices_.on_event(link, e);
  }
  void on_gone(usb::device_link& link, std::error_code why, const std::string& detail) override {
    devices_.on_gone(link, why, detail);
  }
  void on_recovered(usb::device_link& link, const std::string& what) override {
    devices_.note(link, what);
  }
  void on_left_while_waiting(std::uint8_t bus, std::uint8_t address) override {
    devices_.left_while_silent(bus, address);
  }
  void on_attach_failed(std::uint8_t bus, std::uint8_t address, const std::string& what,
                        std::error_code ec) override;

 private:
  device_registry& devices_;
};

}  // namespace tether::daemon
