#pragma once
// One virtual iPhone's USB function, as the usbdevfs layer sees it: control requests
// (descriptors, configuration), bulk OUT into the mux engine and bulk IN out of it,
// with the apps behind the ports. No umockdev, no threads: the adapter calls in.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "tools/sim/iphone_model.hpp"
#include "tools/sim/phone_apps.hpp"
#include "tools/sim/usb_function.hpp"
#include "usbmux/core/device_session.hpp"

namespace tether::sim {

class virtual_phone : public usb_function {
 public:
  virtual_phone(iphone_identity id, usbmux::device_options opts);

  const iphone_identity& identity() const { return id_; }
  std::uint8_t configuration() const override { return configuration_; }

  std::string sysfs_description() const override { return tether::sim::sysfs_description(id_); }
  std::string sysfs_path() const override { return tether::sim::sysfs_path(id_); }
  std::string dev_node() const override { return tether::sim::dev_node(id_); }
  std::uint8_t initial_configuration() const override { return id_.initial_configuration; }
  std::uint8_t configuration_count() const override { return tether::sim::configuration_count; }
  std::uint8_t interface_count() const override;
  bool in_endpoint(std::uint8_t endpoint) const override {
    return endpoint == usbmux_in_endpoint && has_usbmux(configuration_);
  }

  void add_app(std::uint16_t port, std::unique_ptr<phone_app> app);
  // Gives apps with their own I/O a way back in (see app_host).
  void set_app_host(app_host* host);
  // Lets apps react to what the session reported; call after touching the session.
  void run_apps();

  // A control transfer. IN requests return the data (cut to setup.length); OUT
  // requests return an empty vector. nullopt means the phone stalls the request.
  std::optional<std::vector<std::uint8_t>> control(const setup_packet& setup,
                                                   std::span<const std::uint8_t> out_data) override;

  // What SET_CONFIGURATION does; also reachable through control(). Entering a
  // configuration restarts the mux function, as on a real phone.
  bool set_configuration(std::uint8_t value) override;

  // Bulk OUT transfer payload to `endpoint`. False if the endpoint is not active.
  bool bulk_out(std::uint8_t endpoint, std::span<const std::byte> data) override;

  // Fills one bulk IN transfer from `endpoint`: returns the length, or nullopt when
  // nothing is due yet (the transfer stays pending). A transfer never holds bytes of
  // two mux packets; a packet ending exactly on a full transfer whose size is a
  // multiple of wMaxPacketSize is followed by a zero-length transfer.
  std::optional<std::size_t> bulk_in(std::uint8_t endpoint, std::span<std::byte> buffer) override;
  bool in_data_due() const override;

  usbmux::device_session* session() { return session_.get(); }

  // Faults. A muted phone never answers VERSION (the host should time out, not hang).
  void set_version_muted(bool muted) { version_muted_ = muted; }
  // The next bulk IN transfer carries these bytes instead of a real packet.
  void inject_in_bytes(std::vector<std::byte> bytes) { injected_ = std::move(bytes); }

 private:
  iphone_identity id_;
  usbmux::device_options opts_;
  std::uint8_t configuration_;
  std::unique_ptr<usbmux::device_session> session_;
  std::map<std::uint16_t, std::unique_ptr<phone_app>> apps_;
  std::map<usbmux::conn_id, phone_app*> conn_apps_;

  std::vector<std::byte> out_packet_;  // the packet being sent on bulk IN
  std::size_t out_offset_ = 0;
  bool zlp_owed_ = false;
  bool version_muted_ = false;
  std::vector<std::byte> injected_;
};

}  // namespace tether::sim
