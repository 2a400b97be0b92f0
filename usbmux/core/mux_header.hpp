#pragma once
// The header in front of every packet on the usbmux bulk pipe.
//
// Version 1 (8 bytes):  protocol u32 | length u32
// Version 2 (16 bytes): protocol u32 | length u32 | magic u32 | tx_seq u16 | rx_seq u16
// All fields big-endian; `length` counts the whole packet, header included.
// Both sides use version-1 headers until the VERSION exchange has agreed on 2.
#include <cstddef>
#include <cstdint>
#include <span>

#include "usbmux/core/result.hpp"

namespace tether::usbmux {

enum class protocol : std::uint32_t {
  version = 0,
  control = 1,  // phone -> host, one type byte then text
  setup = 2,    // host -> phone, v2 only, one byte 0x07
  tcp = 6,
};

enum class header_format : std::uint8_t { v1, v2 };

inline constexpr std::size_t v1_header_size = 8;
inline constexpr std::size_t v2_header_size = 16;
inline constexpr std::uint32_t v2_magic = 0xFEEDFACE;

constexpr std::size_t header_size(header_format f) {
  return f == header_format::v1 ? v1_header_size : v2_header_size;
}

struct mux_header {
  protocol proto = protocol::version;
  std::uint32_t length = 0;  // whole packet, header included
  std::uint32_t magic = v2_magic;
  std::uint16_t tx_seq = 0;
  std::uint16_t rx_seq = 0;
};

// Writes header_size(f) bytes; `out` must be at least that long.
void encode(const mux_header& h, header_format f, std::span<std::byte> out);

// Reads a header; fails if `in` is shorter than header_size(f). Magic and sequence
// numbers are returned as read and never validated: phones send other magics.
result<mux_header> decode_mux_header(std::span<const std::byte> in, header_format f);

// Only the first 8 bytes (protocol, length) are needed to find packet boundaries,
// whatever the header version; this is what the framer uses.
struct packet_bounds {
  std::uint32_t proto = 0;
  std::uint32_t length = 0;
};
packet_bounds peek_bounds(std::span<const std::byte, v1_header_size> in);

}  // namespace tether::usbmux
