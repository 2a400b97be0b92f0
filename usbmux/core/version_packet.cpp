#include "usbmux/core/version_packet.hpp"

#include "base/byte_order.hpp"

namespace tether::usbmux {

void encode(const version_payload& v, std::span<std::byte, version_payload_size> out) {
  base::store_be32(out.data(), v.major);
  base::store_be32(out.data() + 4, v.minor);
  base::store_be32(out.data() + 8, v.padding);
}

version_payload decode_version_payload(std::span<const std::byte, version_payload_size> in) {
  return {base::load_be32(in.data()), base::load_be32(in.data() + 4),
          base::load_be32(in.data() + 8)};
}

}  // namespace tether::usbmux
