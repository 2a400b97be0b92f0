#include "tools/gadget/ffs_descriptors.hpp"

#include "base/byte_order.hpp"

#include <linux/usb/functionfs.h>

#include <algorithm>

namespace tether::gadget {
namespace {

using bytes = std::vector<std::uint8_t>;

constexpr std::uint8_t dt_interface = 4;
constexpr std::uint8_t dt_endpoint = 5;
constexpr std::uint16_t full_speed_packet = 64;
constexpr std::uint16_t us_english = 0x0409;

void put32(bytes& b, std::uint32_t v) { base::append_le32(b, v); }
void set32(bytes& b, std::size_t at, std::uint32_t v) { base::store_le32(b.data() + at, v); }

// The descriptors of one instance at high speed: each interface it carries (all alt
// settings) with what follows it, in the configuration's order, renumbered.
struct cut {
  std::vector<bytes> descriptors;
  std::vector<std::string> strings;  // local index i+1
};

cut cut_from_model(const sim::iphone_identity& id, const function_slot& slot) {
  sim::iphone_identity hs = id;
  hs.speed = sim::usb_speed::high;
  const bytes cfg = sim::configuration_descriptor(hs, slot.configuration);
  cut c;
  bool taking = false;
  for (std::size_t at = cfg.size() >= 9 ? cfg[0] : cfg.size(); at + 2 <= cfg.size();
       at += cfg[at]) {
    bytes d(
        cfg.begin() + static_cast<std::ptrdiff_t>(at),
        cfg.begin() + static_cast<std::ptrdiff_t>(std::min<std::size_t>(at + cfg[at], cfg.size())));
    if (d.size() < 2 || d[0] == 0) break;
    if (d[1] == dt_interface && d.size() >= 9) {
      const auto it = std::find(slot.interfaces.begin(), slot.interfaces.end(), d[2]);
      taking = it != slot.interfaces.end();
      if (!taking) continue;
      d[2] = static_cast<std::uint8_t>(it - slot.interfaces.begin());
      if (d[8] != 0) {
        const char* text = sim::string_text(id, d[8]);
        const std::string s = text != nullptr ? text : "";
        auto at_s = std::find(c.strings.begin(), c.strings.end(), s);
        if (at_s == c.strings.end()) at_s = c.strings.insert(c.strings.end(), s);
        d[8] = static_cast<std::uint8_t>(at_s - c.strings.begin() + 1);
      }
    }
    if (taking) c.descriptors.push_back(std::move(d));
  }
  return c;
}

// The same descriptors as a full-speed device has them: 64-byte bulk packets, and
// interrupt intervals in frames (1 ms) instead of 2^(n-1) microframes.
bytes full_speed(bytes d) {
  if (d[1] != dt_endpoint || d.size() < 7) return d;
  const std::uint8_t type = d[3] & 3;
  const std::uint16_t size = base::load_le16(d.data() + 4);
  if (type == 2) {
    d[4] = full_speed_packet;
    d[5] = 0;
  } else if (type == 3) {
    const std::uint16_t fs = std::min(size, full_speed_packet);
    base::store_le16(d.data() + 4, fs);
    const unsigned micro = d[6] >= 1 && d[6] <= 16 ? 1u << (d[6] - 1) : 8u;
    d[6] = static_cast<std::uint8_t>(std::clamp(micro / 8, 1u, 255u));
  }
  return d;
}

}  // namespace

std::vector<function_slot> iphone_functions() {
  return {
      {function_kind::ptp, 1, {0}, "ptp_c1"},
      {function_kind::ipod, 2, {0, 1}, "ipod_c2"},
      {function_kind::ptp, 3, {0}, "ptp_c3"},
      {function_kind::usbmux, 3, {sim::usbmux_interface_number}, "mux_c3"},
      {function_kind::ptp, 4, {0}, "ptp_c4"},
      {function_kind::usbmux, 4, {sim::usbmux_interface_number}, "mux_c4"},
      {function_kind::ethernet, 4, {2}, "eth_c4"},
  };
}

ffs_blobs function_blobs(const sim::iphone_identity& id, const function_slot& slot) {
  const cut c = cut_from_model(id, slot);
  ffs_blobs out;
  bytes& d = out.descriptors;
  put32(d, FUNCTIONFS_DESCRIPTORS_MAGIC_V2);
  put32(d, 0);  // length, once known
  put32(d, FUNCTIONFS_HAS_FS_DESC | FUNCTIONFS_HAS_HS_DESC);
  put32(d, static_cast<std::uint32_t>(c.descriptors.size()));  // fs_count
  put32(d, static_cast<std::uint32_t>(c.descriptors.size()));  // hs_count
  for (const bytes& one : c.descriptors) {
    const bytes fs = full_speed(one);
    d.insert(d.end(), fs.begin(), fs.end());
  }
  for (const bytes& one : c.descriptors) d.insert(d.end(), one.begin(), one.end());
  set32(d, 4, static_cast<std::uint32_t>(d.size()));

  bytes& s = out.strings;
  put32(s, FUNCTIONFS_STRINGS_MAGIC);
  put32(s, 0);
  put32(s, static_cast<std::uint32_t>(c.strings.size()));
  put32(s, 1);  // one language
  base::append_le16(s, us_english);
  for (const std::string& text : c.strings) {
    s.insert(s.end(), text.begin(), text.end());
    s.push_back(0);
  }
  set32(s, 4, static_cast<std::uint32_t>(s.size()));
  return out;
}

std::string configuration_name(const sim::iphone_identity& id, std::uint8_t value) {
  const bytes cfg = sim::configuration_descriptor(id, value);
  const char* text = cfg.size() >= 9 ? sim::string_text(id, cfg[6]) : nullptr;
  return text != nullptr ? text : "";
}

}  // namespace tether::gadget
