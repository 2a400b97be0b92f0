#pragma once
// Loads and stores of 16-, 32- and 64-bit integers in big-endian (network) and
// little-endian order, for every wire format in tether: the mux and its TCP headers
// and peertalk frames are big-endian; usbmuxd's client protocol, USB descriptors and
// PTP are little-endian. Through memcpy, so alignment and the host's order never matter.
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace tether::base {

namespace detail {
// One load or store of the whole integer, swapped when the host's order differs: GCC
// and clang make that a single mov (+ bswap). A byte loop here was not merged into one
// load, and cost the engine ~5 % more instructions per small write (callgrind).
template <typename T>
T swap_bytes(T v) {
  static_assert(sizeof(T) == 2 || sizeof(T) == 4 || sizeof(T) == 8);
  if constexpr (sizeof(T) == 2)
    return __builtin_bswap16(v);
  else if constexpr (sizeof(T) == 4)
    return __builtin_bswap32(v);
  else
    return __builtin_bswap64(v);
}
template <typename T, std::endian Order>
T load(const std::byte* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return Order == std::endian::native ? v : swap_bytes(v);
}
template <typename T, std::endian Order>
void store(std::byte* p, T v) {
  if (Order != std::endian::native) v = swap_bytes(v);
  std::memcpy(p, &v, sizeof v);
}
template <typename T, class Bytes>
void append_le(Bytes& out, T v) {
  for (std::size_t i = 0; i < sizeof(T); ++i, v = static_cast<T>(v >> 8))
    out.push_back(static_cast<typename Bytes::value_type>(v & 0xFF));
}
}  // namespace detail

inline std::uint16_t load_be16(const std::byte* p) {
  return detail::load<std::uint16_t, std::endian::big>(p);
}
inline std::uint32_t load_be32(const std::byte* p) {
  return detail::load<std::uint32_t, std::endian::big>(p);
}
inline std::uint64_t load_be64(const std::byte* p) {
  return detail::load<std::uint64_t, std::endian::big>(p);
}
inline std::uint16_t load_le16(const std::byte* p) {
  return detail::load<std::uint16_t, std::endian::little>(p);
}
inline std::uint32_t load_le32(const std::byte* p) {
  return detail::load<std::uint32_t, std::endian::little>(p);
}
inline std::uint64_t load_le64(const std::byte* p) {
  return detail::load<std::uint64_t, std::endian::little>(p);
}

inline void store_be16(std::byte* p, std::uint16_t v) {
  detail::store<std::uint16_t, std::endian::big>(p, v);
}
inline void store_be32(std::byte* p, std::uint32_t v) {
  detail::store<std::uint32_t, std::endian::big>(p, v);
}
inline void store_be64(std::byte* p, std::uint64_t v) {
  detail::store<std::uint64_t, std::endian::big>(p, v);
}
inline void store_le16(std::byte* p, std::uint16_t v) {
  detail::store<std::uint16_t, std::endian::little>(p, v);
}
inline void store_le32(std::byte* p, std::uint32_t v) {
  detail::store<std::uint32_t, std::endian::little>(p, v);
}
inline void store_le64(std::byte* p, std::uint64_t v) {
  detail::store<std::uint64_t, std::endian::little>(p, v);
}

// The same on unsigned char buffers (USB descriptors, setup packets, usbdevfs).
inline std::uint16_t load_le16(const unsigned char* p) {
  return load_le16(reinterpret_cast<const std::byte*>(p));
}
inline std::uint32_t load_le32(const unsigned char* p) {
  return load_le32(reinterpret_cast<const std::byte*>(p));
}
inline void store_le16(unsigned char* p, std::uint16_t v) {
  store_le16(reinterpret_cast<std::byte*>(p), v);
}
inline void store_le32(unsigned char* p, std::uint32_t v) {
  store_le32(reinterpret_cast<std::byte*>(p), v);
}

// Appends to a growing message: a vector (or string) of std::byte or unsigned char.
template <class Bytes>
void append_le16(Bytes& out, std::uint16_t v) {
  detail::append_le<std::uint16_t>(out, v);
}
template <class Bytes>
void append_le32(Bytes& out, std::uint32_t v) {
  detail::append_le<std::uint32_t>(out, v);
}

}  // namespace tether::base
