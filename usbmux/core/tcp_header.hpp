#pragma once
// The 20-byte TCP-like header that follows the mux header on protocol 6 packets.
// It is BSD struct tcphdr without options: ports, seq, ack, data offset, flags,
// window, checksum (always 0), urgent pointer (always 0). The window on the wire is
// the real window divided by 256, in both directions, with no negotiation.
#include <cstddef>
#include <cstdint>
#include <span>

namespace tether::usbmux {

inline constexpr std::size_t tcp_header_size = 20;
inline constexpr unsigned window_shift = 8;

namespace tcp_flag {
inline constexpr std::uint8_t fin = 0x01;
inline constexpr std::uint8_t syn = 0x02;
inline constexpr std::uint8_t rst = 0x04;
inline constexpr std::uint8_t psh = 0x08;
inline constexpr std::uint8_t ack = 0x10;
inline constexpr std::uint8_t syn_ack = syn | ack;
}  // namespace tcp_flag

struct tcp_header {
  std::uint16_t source_port = 0;
  std::uint16_t dest_port = 0;
  std::uint32_t seq = 0;
  std::uint32_t ack = 0;
  std::uint8_t data_offset_words = 5;  // upper nibble of byte 12; 5 = no options
  std::uint8_t flags = 0;
  std::uint16_t window_wire = 0;  // window >> 8

  std::uint32_t window_bytes() const { return std::uint32_t{window_wire} << window_shift; }
};

// Converts a window in bytes to its wire value, saturating at 0xFFFF.
std::uint16_t window_to_wire(std::uint32_t bytes);

void encode(const tcp_header& h, std::span<std::byte, tcp_header_size> out);
tcp_header decode_tcp_header(std::span<const std::byte, tcp_header_size> in);

}  // namespace tether::usbmux
