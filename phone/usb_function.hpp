#pragma once
// A USB device model as the usbdevfs adapter (usbdevfs_device) sees it: what it looks
// like in sysfs, its control requests, and data on its endpoints. The virtual iPhone
// and the virtual PTP camera are two. No umockdev, no threads, no locking: the adapter
// calls in under its own lock.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace tether::sim {

struct setup_packet {
  std::uint8_t request_type;
  std::uint8_t request;
  std::uint16_t value;
  std::uint16_t index;
  std::uint16_t length;
};

class usb_function {
 public:
  virtual ~usb_function() = default;

  // The device in umockdev_testbed_add_from_string() format, without an N: line (the
  // adapter makes the node), and where it lives.
  virtual std::string sysfs_description() const = 0;
  virtual std::string sysfs_path() const = 0;
  virtual std::string dev_node() const = 0;
  virtual std::uint8_t initial_configuration() const = 0;  // what the kernel picks on plug
  virtual std::uint8_t configuration() const = 0;
  virtual std::uint8_t configuration_count() const = 0;
  virtual std::uint8_t interface_count() const = 0;  // in the active configuration

  // What SET_CONFIGURATION does (also reachable through control()); 0 deconfigures.
  virtual bool set_configuration(std::uint8_t value) = 0;
  // A control transfer. IN requests return the data (cut to setup.length); OUT
  // requests return an empty vector. nullopt means the device stalls the request.
  virtual std::optional<std::vector<std::uint8_t>> control(
      const setup_packet& setup, std::span<const std::uint8_t> out_data) = 0;
  // USBDEVFS_RESET: the port reset a host does to recover a device.
  virtual void reset() { set_configuration(configuration()); }

  // Bulk OUT transfer payload to `endpoint`. False if the endpoint is not active (the
  // adapter stalls the transfer). `zero_packet`: the host asked for a zero-length packet
  // after it (USBDEVFS_URB_ZERO_PACKET). The wire carries the transfer as full packets
  // and, unless its length is a multiple of wMaxPacketSize, one short packet at the end;
  // a device that reads into large buffers sees a transfer without either run on into
  // the next one (bulk_out_reads.hpp).
  virtual bool bulk_out(std::uint8_t endpoint, std::span<const std::byte> data,
                        bool zero_packet) = 0;
  // Is `endpoint` an active IN endpoint (bulk or interrupt) now?
  virtual bool in_endpoint(std::uint8_t endpoint) const = 0;
  // Fills one IN transfer from `endpoint`: its length (0 is a zero-length packet), or
  // nullopt when nothing is due there yet (the transfer stays pending).
  virtual std::optional<std::size_t> bulk_in(std::uint8_t endpoint,
                                             std::span<std::byte> buffer) = 0;
  // Might any IN endpoint have something now? (A cheap check before trying each.)
  virtual bool in_data_due() const = 0;
  // When something not due yet will be (a frame the camera is still making): the
  // adapter wakes up then. nullopt: only host activity makes more.
  virtual std::optional<std::chrono::steady_clock::time_point> next_in_due() const { return {}; }
};

}  // namespace tether::sim
