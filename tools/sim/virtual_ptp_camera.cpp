#include "tools/sim/virtual_ptp_camera.hpp"

#include "base/byte_order.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace tether::sim {
namespace {

using bytes8 = std::vector<std::uint8_t>;

void put16(bytes8& b, std::uint16_t v) { base::append_le16(b, v); }

bytes8 string_descriptor(const std::string& text) {
  bytes8 b{0, 3};
  for (char c : text) {
    b.push_back(static_cast<std::uint8_t>(c));
    b.push_back(0);
  }
  b[0] = static_cast<std::uint8_t>(b.size());
  return b;
}

// PTP class requests (Still Image Capture Device Definition, 5.2).
constexpr std::uint8_t class_cancel = 0x64;
constexpr std::uint8_t class_device_reset = 0x66;
constexpr std::uint8_t class_get_device_status = 0x67;

}  // namespace

virtual_ptp_camera::virtual_ptp_camera(camera_identity id, ptp::ptp_responder responder)
    : id_(std::move(id)), responder_(std::move(responder)) {}

std::vector<std::uint8_t> virtual_ptp_camera::descriptors() const {
  // Device: class defined per interface, EP0 64 bytes, one configuration.
  bytes8 b{18, 1};
  put16(b, 0x0200);
  b.insert(b.end(), {0, 0, 0, 64});
  put16(b, id_.vendor_id);
  put16(b, id_.product_id);
  put16(b, 0x0100);
  b.insert(b.end(), {1, 2, 3, 1});
  // Configuration 1: the still-image interface, bus powered is what bodies say.
  b.insert(b.end(), {9, 2, 39, 0, 1, 1, 0, 0xc0, 1});
  b.insert(b.end(), {9, 4, 0, 0, 3, 0x06, 0x01, 0x01, 0});
  b.insert(b.end(), {7, 5, bulk_in_ep, 2});
  put16(b, bulk_packet);
  b.push_back(0);
  b.insert(b.end(), {7, 5, bulk_out_ep, 2});
  put16(b, bulk_packet);
  b.push_back(0);
  b.insert(b.end(), {7, 5, interrupt_ep, 3});
  put16(b, 8);
  b.push_back(9);  // 2^(9-1) microframes: every 32 ms
  return b;
}

std::string virtual_ptp_camera::sysfs_path() const {
  char buf[64];
  std::snprintf(buf, sizeof buf, "/sys/devices/pci0000:00/0000:00:14.0/usb%u/%u-1", id_.bus,
                id_.bus);
  return buf;
}

std::string virtual_ptp_camera::dev_node() const {
  char buf[32];
  std::snprintf(buf, sizeof buf, "/dev/bus/usb/%03u/%03u", id_.bus, id_.address);
  return buf;
}

std::string virtual_ptp_camera::sysfs_description() const {
  std::string hex;
  char h[4];
  for (std::uint8_t byte : descriptors()) {
    std::snprintf(h, sizeof h, "%02x", byte);
    hex += h;
  }
  std::string s;
  auto line = [&s](const char* tag, const std::string& v) {
    s += std::string(tag) + ": " + v + "\n";
  };
  char num[64];
  line("P", sysfs_path().substr(4));
  line("E", "SUBSYSTEM=usb");
  line("E", "DEVTYPE=usb_device");
  line("E", "DRIVER=usb");
  std::snprintf(num, sizeof num, "%03u", id_.bus);
  line("E", std::string("BUSNUM=") + num);
  std::snprintf(num, sizeof num, "%03u", id_.address);
  line("E", std::string("DEVNUM=") + num);
  line("E", "DEVNAME=" + dev_node());
  std::snprintf(num, sizeof num, "%x/%x/100", id_.vendor_id, id_.product_id);
  line("E", std::string("PRODUCT=") + num);
  line("E", "ID_SERIAL_SHORT=" + id_.serial);
  std::snprintf(num, sizeof num, "%04x", id_.vendor_id);
  line("A", std::string("idVendor=") + num + "\\n");
  std::snprintf(num, sizeof num, "%04x", id_.product_id);
  line("A", std::string("idProduct=") + num + "\\n");
  line("A", "bcdDevice=0100\\n");
  line("A", "manufacturer=" + id_.manufacturer + "\\n");
  line("A", "product=" + id_.product + "\\n");
  line("A", "serial=" + id_.serial + "\\n");
  line("A", "busnum=" + std::to_string(id_.bus) + "\\n");
  line("A", "devnum=" + std::to_string(id_.address) + "\\n");
  line("A", "speed=480\\n");
  line("A", "bNumConfigurations=1\\n");
  line("A", "bConfigurationValue=1\\n");
  line("H", "descriptors=" + hex);
  return s;
}

bool virtual_ptp_camera::set_configuration(std::uint8_t value) {
  if (value > 1) return false;
  configuration_ = value;
  zlp_owed_ = false;
  if (value == 0) responder_.reset();  // unplugged or deconfigured: the session is gone
  return true;
}

void virtual_ptp_camera::reset() {
  responder_.reset();
  zlp_owed_ = false;
}

std::optional<std::vector<std::uint8_t>> virtual_ptp_camera::control(
    const setup_packet& s, std::span<const std::uint8_t>) {
  auto cut = [&s](bytes8 v) {
    if (v.size() > s.length) v.resize(s.length);
    return v;
  };
  if (s.request_type == 0x80 && s.request == 6) {  // GET_DESCRIPTOR
    const auto type = static_cast<std::uint8_t>(s.value >> 8);
    const auto index = static_cast<std::uint8_t>(s.value);
    const auto all = descriptors();
    if (type == 1) return cut(bytes8(all.begin(), all.begin() + 18));
    if (type == 2 && index == 0) return cut(bytes8(all.begin() + 18, all.end()));
    if (type == 3) {
      if (index == 0) return cut({4, 3, 0x09, 0x04});
      if (index == 1) return cut(string_descriptor(id_.manufacturer));
      if (index == 2) return cut(string_descriptor(id_.product));
      if (index == 3) return cut(string_descriptor(id_.serial));
    }
    return std::nullopt;
  }
  if (s.request_type == 0x80 && s.request == 8) return cut({configuration_});
  if (s.request_type == 0x80 && s.request == 0) return cut({0x00, 0x00});
  if (s.request_type == 0x00 && s.request == 9) {
    if (!set_configuration(static_cast<std::uint8_t>(s.value))) return std::nullopt;
    return bytes8{};
  }
  if (s.request_type == 0x21 && (s.request == class_device_reset || s.request == class_cancel)) {
    responder_.reset();
    zlp_owed_ = false;
    return bytes8{};
  }
  if (s.request_type == 0xa1 && s.request == class_get_device_status)
    return cut({4, 0, 0x01, 0x20});  // length 4, OK
  return std::nullopt;
}

bool virtual_ptp_camera::bulk_out(std::uint8_t endpoint, std::span<const std::byte> data,
                                  bool /*zero_packet*/) {
  if (configuration_ != 1 || endpoint != bulk_out_ep) return false;
  // Transfer boundaries do not matter here: a PTP device reads a container by the length
  // in its header, and a data phase may legitimately span many transfers. The responder
  // reassembles containers from the byte stream, which is what such a device sees.
  responder_.receive(data, std::chrono::steady_clock::now());
  return true;
}

bool virtual_ptp_camera::in_endpoint(std::uint8_t endpoint) const {
  return configuration_ == 1 && (endpoint == bulk_in_ep || endpoint == interrupt_ep);
}

bool virtual_ptp_camera::in_data_due() const {
  if (configuration_ != 1) return false;
  if (zlp_owed_ || responder_.event_pending()) return true;
  const auto at = responder_.in_ready_at();
  return at && *at <= std::chrono::steady_clock::now();
}

std::optional<std::chrono::steady_clock::time_point> virtual_ptp_camera::next_in_due() const {
  return responder_.in_ready_at();
}

std::optional<std::size_t> virtual_ptp_camera::bulk_in(std::uint8_t endpoint,
                                                       std::span<std::byte> buffer) {
  if (endpoint == interrupt_ep) {
    auto e = responder_.take_event();
    if (!e) return std::nullopt;
    const std::size_t n = std::min(buffer.size(), e->size());
    std::memcpy(buffer.data(), e->data(), n);
    return n;
  }
  if (endpoint != bulk_in_ep) return std::nullopt;
  if (zlp_owed_) {
    zlp_owed_ = false;
    return 0;
  }
  const auto at = responder_.in_ready_at();
  if (!at || *at > std::chrono::steady_clock::now()) return std::nullopt;
  // One container per transfer at most, as a device ends a transfer with a short packet
  // (or a zero-length one when the container filled its last packet).
  const auto front = responder_.in_front();
  const std::size_t length = responder_.in_front_length();
  const std::size_t n = std::min(buffer.size(), front.size());
  std::memcpy(buffer.data(), front.data(), n);
  const bool last = n == front.size();
  responder_.consume(n);
  if (last && length % bulk_packet == 0) zlp_owed_ = true;
  return n;
}

}  // namespace tether::sim
