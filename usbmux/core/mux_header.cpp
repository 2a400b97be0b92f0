#include "usbmux/core/mux_header.hpp"

#include "base/byte_order.hpp"
#include "usbmux/core/errc.hpp"

namespace tether::usbmux {

using base::load_be16;
using base::load_be32;
using base::store_be16;
using base::store_be32;

void encode(const mux_header& h, header_format f, std::span<std::byte> out) {
  store_be32(out.data(), static_cast<std::uint32_t>(h.proto));
  store_be32(out.data() + 4, h.length);
  if (f == header_format::v2) {
    store_be32(out.data() + 8, h.magic);
    store_be16(out.data() + 12, h.tx_seq);
    store_be16(out.data() + 14, h.rx_seq);
  }
}

result<mux_header> decode_mux_header(std::span<const std::byte> in, header_format f) {
  if (in.size() < header_size(f)) return errc::bad_packet_length;
  mux_header h;
  h.proto = static_cast<protocol>(load_be32(in.data()));
  h.length = load_be32(in.data() + 4);
  if (f == header_format::v2) {
    h.magic = load_be32(in.data() + 8);
    h.tx_seq = load_be16(in.data() + 12);
    h.rx_seq = load_be16(in.data() + 14);
  } else {
    h.magic = 0;
  }
  return h;
}

packet_bounds peek_bounds(std::span<const std::byte, v1_header_size> in) {
  return {load_be32(in.data()), load_be32(in.data() + 4)};
}

}  // namespace tether::usbmux
