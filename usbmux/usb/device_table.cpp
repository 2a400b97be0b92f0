#include "usbmux/usb/device_table.hpp"

namespace tether::usb {

bool is_usbmux_product(std::uint16_t vendor, std::uint16_t product) {
  if (vendor != apple_vendor_id) return false;
  for (const auto& r : usbmux_products)
    if (product >= r.first && product <= r.last) return true;
  return false;
}

bool find_mux_interface(const configuration_view& c, mux_interface& out) {
  for (const auto& i : c.interfaces) {
    if (i.alt != 0 || i.cls != usbmux_class || i.subclass != usbmux_subclass ||
        i.protocol != usbmux_protocol || i.endpoints.size() != 2)
      continue;
    const endpoint_view* in = nullptr;
    const endpoint_view* out_ep = nullptr;
    for (const auto& e : i.endpoints) {
      if ((e.attributes & 0x3) != 2) continue;
      (e.address & 0x80 ? in : out_ep) = &e;
    }
    if (in == nullptr || out_ep == nullptr) continue;
    out = {c.value, i.number, in->address, out_ep->address, out_ep->max_packet};
    return true;
  }
  return false;
}

bool choose_configuration(std::span<const configuration_view> all, std::uint8_t current,
                          mux_interface& out) {
  for (const auto& c : all)
    if (c.value == current && find_mux_interface(c, out)) return true;
  bool found = false;
  for (const auto& c : all) {
    mux_interface m;
    if (find_mux_interface(c, m) && (!found || m.configuration > out.configuration)) {
      out = m;
      found = true;
    }
  }
  return found;
}

}  // namespace tether::usb
