#pragma once
// The VERSION payload (12 bytes, big-endian): major | minor | padding (0).
// The host offers 2.0; a phone answers 2.0 (modern) or 1.x (old firmware).
#include <cstddef>
#include <cstdint>
#include <span>

namespace tether::usbmux {

inline constexpr std::size_t version_payload_size = 12;
inline constexpr std::uint8_t setup_byte = 0x07;  // the only SETUP payload anyone sends

struct version_payload {
  std::uint32_t major = 2;
  std::uint32_t minor = 0;
  std::uint32_t padding = 0;
};

void encode(const version_payload& v, std::span<std::byte, version_payload_size> out);
version_payload decode_version_payload(std::span<const std::byte, version_payload_size> in);

}  // namespace tether::usbmux
