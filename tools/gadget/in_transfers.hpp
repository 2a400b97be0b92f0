#pragma once
// The IN side's rule for ending a transfer. A host reads bulk IN into buffers larger
// than a packet; its read ends at a short packet. A mux packet whose length is a
// multiple of wMaxPacketSize ends on a full packet, so the host's read would run on
// into the next mux packet unless a zero-length packet (ZLP) follows. A real UDC
// driver sends it when the request sets `zero`; FunctionFS never sets it, so the
// gadget writes the ZLP itself, as a separate zero-length write.
#include <cstddef>

namespace tether::gadget {

constexpr bool needs_zlp(std::size_t length, std::size_t max_packet) {
  return length > 0 && max_packet > 0 && length % max_packet == 0;
}

}  // namespace tether::gadget
