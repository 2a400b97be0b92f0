#include "usbmux/core/tcp_header.hpp"

#include <algorithm>

#include "base/byte_order.hpp"

namespace tether::usbmux {

using base::load_be16;
using base::load_be32;
using base::store_be16;
using base::store_be32;

std::uint16_t window_to_wire(std::uint32_t bytes) {
  return static_cast<std::uint16_t>(std::min<std::uint32_t>(bytes >> window_shift, 0xFFFF));
}

void encode(const tcp_header& h, std::span<std::byte, tcp_header_size> out) {
  std::byte* p = out.data();
  store_be16(p, h.source_port);
  store_be16(p + 2, h.dest_port);
  store_be32(p + 4, h.seq);
  store_be32(p + 8, h.ack);
  p[12] = static_cast<std::byte>(h.data_offset_words << 4);
  p[13] = static_cast<std::byte>(h.flags);
  store_be16(p + 14, h.window_wire);
  store_be16(p + 16, 0);  // checksum: never computed by either side
  store_be16(p + 18, 0);  // urgent pointer
}

tcp_header decode_tcp_header(std::span<const std::byte, tcp_header_size> in) {
  const std::byte* p = in.data();
  tcp_header h;
  h.source_port = load_be16(p);
  h.dest_port = load_be16(p + 2);
  h.seq = load_be32(p + 4);
  h.ack = load_be32(p + 8);
  h.data_offset_words = static_cast<std::uint8_t>(std::to_integer<unsigned>(p[12]) >> 4);
  h.flags = std::to_integer<std::uint8_t>(p[13]);
  h.window_wire = load_be16(p + 14);
  return h;
}

}  // namespace tether::usbmux
