#pragma once
// What a real iPhone looks like on the USB bus, as the Linux kernel presents it:
// the raw descriptors (device + every configuration, as in sysfs `descriptors`),
// the string table, and the sysfs/udev description umockdev needs. Layout from
// docs/usbmux-wire.md 0.2: 4 configurations; 3 and 4 carry the usbmux interface
// (255/254/2, bulk OUT 0x04 / IN 0x85) beside PTP, and 4 adds Apple USB Ethernet.
#include <cstdint>
#include <string>
#include <vector>

namespace tether::sim {

enum class usb_speed : std::uint8_t { high, super };

struct iphone_identity {
  std::string serial = "00008120000A2D910EDB401E";  // 24-hex style; the UDID gets a hyphen
  std::uint16_t product_id = 0x12a8;
  std::uint16_t bcd_device = 0x1501;
  std::string product = "iPhone";
  usb_speed speed = usb_speed::high;
  std::uint8_t bus = 1;
  std::uint8_t address = 2;
  std::uint8_t initial_configuration = 1;  // the kernel's choice without tether's udev rule
};

inline constexpr std::uint16_t apple_vendor_id = 0x05ac;
inline constexpr std::uint8_t usbmux_out_endpoint = 0x04;
inline constexpr std::uint8_t usbmux_in_endpoint = 0x85;
inline constexpr std::uint8_t usbmux_interface_number = 1;
inline constexpr std::uint8_t configuration_count = 4;

std::uint16_t bulk_packet_size(usb_speed s);

// The UDID clients see for a serial: 24-character serials get a hyphen after the 8th.
std::string udid_from_serial(const std::string& serial);

// Device descriptor followed by configurations 1..4, each with its full tree.
std::vector<std::uint8_t> device_descriptor(const iphone_identity& id);
std::vector<std::uint8_t> configuration_descriptor(const iphone_identity& id, std::uint8_t value);
std::vector<std::uint8_t> all_descriptors(const iphone_identity& id);

// String descriptor `index` in UTF-16LE (index 0: the LANGID list, 0x0409).
// Empty when the index does not exist.
std::vector<std::uint8_t> string_descriptor(const iphone_identity& id, std::uint8_t index);

// The text of string `index` (1 manufacturer, 2 product, 3 serial, then the names of
// configurations and interfaces the descriptors point at); nullptr when there is none.
const char* string_text(const iphone_identity& id, std::uint8_t index);

// Does configuration `value` carry the usbmux interface?
bool has_usbmux(std::uint8_t configuration_value);

// The device in umockdev_testbed_add_from_string() format (P:, E:, A:, H: lines). The
// device node is left to the caller (see usbdevfs_phone).
std::string sysfs_description(const iphone_identity& id);
std::string sysfs_path(const iphone_identity& id);
std::string dev_node(const iphone_identity& id);

}  // namespace tether::sim
