#pragma once
// A PTP camera on the USB bus: a still-image interface (class 6/1/1) with bulk OUT,
// bulk IN and interrupt IN endpoints, and ptp_responder behind them. It looks like the
// body its description names (a Nikon D750: 04b0:0437), so libgphoto2 picks that
// body's driver by itself. Under usbdevfs_device, like the phone.
#include <mutex>

#include "phone/usb_function.hpp"
#include "tools/sim/ptp/ptp_responder.hpp"

namespace tether::sim {

struct camera_identity {
  std::uint16_t vendor_id = 0;
  std::uint16_t product_id = 0;
  std::string manufacturer;  // the USB strings, as the body reports them
  std::string product;
  std::string serial;
  std::uint8_t bus = 2;  // its own root port: no clash with the phones on bus 1
  std::uint8_t address = 2;
};

class virtual_ptp_camera : public usb_function {
 public:
  static constexpr std::uint8_t bulk_out_ep = 0x02;
  static constexpr std::uint8_t bulk_in_ep = 0x81;
  static constexpr std::uint8_t interrupt_ep = 0x83;
  static constexpr std::uint16_t bulk_packet = 512;  // USB 2 high speed

  virtual_ptp_camera(camera_identity id, ptp::ptp_responder responder);

  ptp::ptp_responder& responder() { return responder_; }

  std::string sysfs_description() const override;
  std::string sysfs_path() const override;
  std::string dev_node() const override;
  std::uint8_t initial_configuration() const override { return 1; }
  std::uint8_t configuration() const override { return configuration_; }
  std::uint8_t configuration_count() const override { return 1; }
  std::uint8_t interface_count() const override { return configuration_ == 1 ? 1 : 0; }
  bool set_configuration(std::uint8_t value) override;
  std::optional<std::vector<std::uint8_t>> control(const setup_packet& setup,
                                                   std::span<const std::uint8_t> out_data) override;
  void reset() override;
  bool bulk_out(std::uint8_t endpoint, std::span<const std::byte> data, bool zero_packet) override;
  bool in_endpoint(std::uint8_t endpoint) const override;
  std::optional<std::size_t> bulk_in(std::uint8_t endpoint, std::span<std::byte> buffer) override;
  bool in_data_due() const override;
  std::optional<std::chrono::steady_clock::time_point> next_in_due() const override;

  std::vector<std::uint8_t> descriptors() const;  // device + the configuration

 private:
  camera_identity id_;
  ptp::ptp_responder responder_;
  std::uint8_t configuration_ = 1;
  bool zlp_owed_ = false;  // a container ended on a packet boundary: a ZLP follows
};

}  // namespace tether::sim
