#pragma once
// Which USB devices tether handles. One table feeds both tetherd's matching and the
// generated udev rules, so the two cannot drift.
#include <cstdint>
#include <span>

namespace tether::usb {

inline constexpr std::uint16_t apple_vendor_id = 0x05ac;

struct product_range {
  std::uint16_t first;
  std::uint16_t last;
  const char* what;
};

// From docs/usbmux-wire.md 0.1 (usbmuxd src/usb.h and its udev rule). Recovery
// (0x1280-0x1283), DFU (0x1227) and WTF (0x1222) are libirecovery's business and
// deliberately absent.
inline constexpr product_range usbmux_products[] = {
    {0x1290, 0x12af, "iPhone, iPad, iPod, Watch or Apple TV in normal mode"},
    {0x8600, 0x8600, "T1/T2 coprocessor (iBridge) inside a Mac"},
    {0x1901, 0x1905, "Apple Silicon Mac in restore mode"},
};

inline constexpr std::uint8_t usbmux_class = 0xff;
inline constexpr std::uint8_t usbmux_subclass = 0xfe;
inline constexpr std::uint8_t usbmux_protocol = 0x02;

bool is_usbmux_product(std::uint16_t vendor, std::uint16_t product);

// A plain view of one configuration, so the choice below needs no libusb.
struct endpoint_view {
  std::uint8_t address;
  std::uint8_t attributes;  // low two bits: 2 = bulk
  std::uint16_t max_packet;
};
struct interface_view {
  std::uint8_t number;
  std::uint8_t alt;
  std::uint8_t cls, subclass, protocol;
  std::span<const endpoint_view> endpoints;
};
struct configuration_view {
  std::uint8_t value;
  std::span<const interface_view> interfaces;
};

struct mux_interface {
  std::uint8_t configuration = 0;
  std::uint8_t interface = 0;
  std::uint8_t in_endpoint = 0;
  std::uint8_t out_endpoint = 0;
  std::uint16_t max_packet = 0;
};

// The usbmux interface of one configuration: alt setting 0, class/subclass/protocol
// all equal to 255/254/2 (usbmuxd master's OR-match is a bug), exactly one bulk IN
// and one bulk OUT endpoint in either order. Endpoint numbers come from here, never
// from constants.
bool find_mux_interface(const configuration_view& c, mux_interface& out);

// The configuration to use: the current one when it already carries usbmux (never
// mode-switch a usable phone), else the highest-numbered one that does.
bool choose_configuration(std::span<const configuration_view> all, std::uint8_t current,
                          mux_interface& out);

}  // namespace tether::usb
