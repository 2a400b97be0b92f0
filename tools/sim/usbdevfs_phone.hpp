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
  // Data on a connection the host does not have (see virtual_phone::inject_stale_packet).
  void inject_stale_packet(std::uint16_t port, std::uint16_t host_port) {
    device_.with_function(
        [this, port, host_port](usb_function&) { phone_.inject_stale_packet(port, host_port); });
  }
  // Every app resets its connections (RST), as when they are killed.
  void reset_connections() {
    device_.with_function([this](usb_function&) { phone_.reset_connections(); });
  }
  // What the phone's mux made of the host's transfers, and what its session saw, as
  // one line of NAME=VALUE pairs.
  std::string stats() {
    std::string out;
    device_.with_function([this, &out](usb_function&) {
      const read_stats& r = phone_.reads();
      out = "packets=" + std::to_string(r.packets) +
            " packets_on_boundary=" + std::to_string(r.packets_on_boundary) +
            " largest_packet=" + std::to_string(r.largest_packet) +
            " too_large=" + std::to_string(r.too_large) +
            " mismatched=" + std::to_string(r.mismatched) +
            " window_violations=" + std::to_string(r.window_violations);
      if (usbmux::device_session* s = phone_.session()) {
        const usbmux::session_stats& st = s->stats();
        out += " anonymous_resets_sent=" + std::to_string(st.anonymous_resets_sent) +
               " packets_ignored=" + std::to_string(st.packets_ignored) +
               " connections=" + std::to_string(s->connection_count());
      }
    });
    return out;
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
