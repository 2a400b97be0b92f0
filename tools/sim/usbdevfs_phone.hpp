#pragma once
// One virtual iPhone plugged into a umockdev testbed: virtual_phone behind the
// usbdevfs adapter, plus what only a phone has: apps with sockets of their own that
// need a way back in, and mux-level faults.
#include <string>

#include "tools/sim/usbdevfs_device.hpp"
#include "tools/sim/virtual_phone.hpp"

namespace tether::sim {

class usbdevfs_phone : private app_host {
 public:
  usbdevfs_phone(UMockdevTestbed* testbed, virtual_phone phone, usb_bus& bus)
      : phone_(std::move(phone)), device_(testbed, phone_, bus) {
    phone_.set_app_host(this);
  }

  usbdevfs_device& device() { return device_; }
  bool plug(std::string& error) { return device_.plug(error); }
  void unplug() { device_.unplug(); }
  bool plugged() const { return device_.plugged(); }
  std::string udid() const { return udid_from_serial(phone_.identity().serial); }
  const iphone_identity& identity() const { return phone_.identity(); }

  // A TCP packet whose length field (3) is shorter than any header, on bulk IN.
  void inject_garbage() {
    device_.with_function([this](usb_function&) {
      phone_.inject_in_bytes({std::byte{0}, std::byte{0}, std::byte{0}, std::byte{6}, std::byte{0},
                              std::byte{0}, std::byte{0}, std::byte{3}});
    });
  }
  void set_version_muted(bool muted) {
    device_.with_function([this, muted](usb_function&) { phone_.set_version_muted(muted); });
  }

 private:
  void with_session(const std::function<void(usbmux::device_session*)>& f) override {
    device_.with_function([this, &f](usb_function&) {
      f(phone_.session());
      if (phone_.session() != nullptr) phone_.run_apps();
    });
  }

  virtual_phone phone_;  // declared first: the device is torn down before it
  usbdevfs_device device_;
};

}  // namespace tether::sim
