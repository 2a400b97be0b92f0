// Fuzz target: the mux codec. The input is a bulk IN byte stream; every packet the
// framer finds is decoded as each header kind and must re-encode to the same bytes.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>

#include "usbmux/core/mux_header.hpp"
#include "usbmux/core/packet_framer.hpp"
#include "usbmux/core/tcp_header.hpp"
#include "usbmux/core/version_packet.hpp"

using namespace tether::usbmux;

namespace {

void check_round_trip(std::span<const std::byte> packet, header_format f) {
  auto h = decode_mux_header(packet, f);
  if (!h) return;
  std::byte out[v2_header_size];
  encode(*h, f, out);
  if (std::memcmp(out, packet.data(), header_size(f)) != 0) std::abort();
  const auto body = packet.subspan(header_size(f));
  if (body.size() >= tcp_header_size) {
    const tcp_header t = decode_tcp_header(body.first<tcp_header_size>());
    std::byte again[tcp_header_size];
    encode(t, std::span(again));
    // Byte 12's low nibble is reserved and bytes 16-19 are always written as 0.
    if (std::memcmp(again, body.data(), 12) != 0 || again[13] != body[13] ||
        std::memcmp(again + 14, body.data() + 14, 2) != 0)
      std::abort();
  }
  if (body.size() >= version_payload_size) {
    const version_payload v = decode_version_payload(body.first<version_payload_size>());
    std::byte again[version_payload_size];
    encode(v, std::span(again));
    if (std::memcmp(again, body.data(), version_payload_size) != 0) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto in = std::as_bytes(std::span(data, size));
  packet_framer framer(65536);
  // Feed in two pieces so the partial-packet path runs too.
  const std::size_t cut = size == 0 ? 0 : data[0] % (size + 1);
  for (auto piece : {in.first(cut), in.subspan(cut)}) {
    const auto ec = framer.feed(piece, [](std::span<const std::byte> p) {
      if (p.size() < v1_header_size || p.size() > 65536) std::abort();
      check_round_trip(p, header_format::v1);
      check_round_trip(p, header_format::v2);
      return std::error_code{};
    });
    if (ec) break;
    if (framer.buffered() > 65536) std::abort();
  }
  return 0;
}
