#pragma once
// Loads and stores of 16-, 32- and 64-bit integers in big-endian (network) and
// little-endian order, for every wire format in tether: the mux and its TCP headers
// and peertalk frames are big-endian; usbmuxd's client protocol, USB descriptors and
// PTP are little-endian. Byte by byte, so alignment and the host's order never matter.
#include <cstddef>
#include <cstdint>

namespace tether::base {

namespace detail {
template <typename T, int N>
T load_be(const std::byte* p) {
  T v = 0;
  for (int i = 0; i < N; ++i) v = static_cast<T>((v << 8) | std::to_integer<T>(p[i]));
  return v;
}
template <typename T, int N>
T load_le(const std::byte* p) {
  T v = 0;
  for (int i = N - 1; i >= 0; --i) v = static_cast<T>((v << 8) | std::to_integer<T>(p[i]));
  return v;
}
template <typename T, int N>
void store_be(std::byte* p, T v) {
  for (int i = N - 1; i >= 0; --i, v = static_cast<T>(v >> 8)) p[i] = static_cast<std::byte>(v);
}
template <typename T, int N>
void store_le(std::byte* p, T v) {
  for (int i = 0; i < N; ++i, v = static_cast<T>(v >> 8)) p[i] = static_cast<std::byte>(v);
}
template <typename T, int N, class Bytes>
void append_le(Bytes& out, T v) {
  for (int i = 0; i < N; ++i, v = static_cast<T>(v >> 8))
    out.push_back(static_cast<typename Bytes::value_type>(v & 0xFF));
}
}  // namespace detail

inline std::uint16_t load_be16(const std::byte* p) { return detail::load_be<std::uint16_t, 2>(p); }
inline std::uint32_t load_be32(const std::byte* p) { return detail::load_be<std::uint32_t, 4>(p); }
inline std::uint64_t load_be64(const std::byte* p) { return detail::load_be<std::uint64_t, 8>(p); }
inline std::uint16_t load_le16(const std::byte* p) { return detail::load_le<std::uint16_t, 2>(p); }
inline std::uint32_t load_le32(const std::byte* p) { return detail::load_le<std::uint32_t, 4>(p); }
inline std::uint64_t load_le64(const std::byte* p) { return detail::load_le<std::uint64_t, 8>(p); }

inline void store_be16(std::byte* p, std::uint16_t v) { detail::store_be<std::uint16_t, 2>(p, v); }
inline void store_be32(std::byte* p, std::uint32_t v) { detail::store_be<std::uint32_t, 4>(p, v); }
inline void store_be64(std::byte* p, std::uint64_t v) { detail::store_be<std::uint64_t, 8>(p, v); }
inline void store_le16(std::byte* p, std::uint16_t v) { detail::store_le<std::uint16_t, 2>(p, v); }
inline void store_le32(std::byte* p, std::uint32_t v) { detail::store_le<std::uint32_t, 4>(p, v); }
inline void store_le64(std::byte* p, std::uint64_t v) { detail::store_le<std::uint64_t, 8>(p, v); }

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
  detail::append_le<std::uint16_t, 2>(out, v);
}
template <class Bytes>
void append_le32(Bytes& out, std::uint32_t v) {
  detail::append_le<std::uint32_t, 4>(out, v);
}

}  // namespace tether::base
