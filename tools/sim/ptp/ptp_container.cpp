#include "tools/sim/ptp/ptp_container.hpp"

#include "base/byte_order.hpp"

#include <algorithm>

namespace tether::sim::ptp {
namespace {

std::uint32_t le32(std::span<const std::byte> b, std::size_t at) {
  return base::load_le32(b.subspan(at, 4).data());
}

std::uint16_t le16(std::span<const std::byte> b, std::size_t at) {
  return base::load_le16(b.subspan(at, 2).data());
}

}  // namespace

std::size_t width_of(data_type t) {
  switch (t) {
    case data_type::int8:
    case data_type::uint8: return 1;
    case data_type::int16:
    case data_type::uint16: return 2;
    case data_type::int32:
    case data_type::uint32: return 4;
    case data_type::int64:
    case data_type::uint64: return 8;
    case data_type::string: return 0;
  }
  return 0;
}

bytes encode(const container& c) {
  writer w;
  const std::size_t body = c.type == container_type::data ? c.payload.size() : 4 * c.params.size();
  w.u32(static_cast<std::uint32_t>(header_size + body));
  w.u16(static_cast<std::uint16_t>(c.type)).u16(c.code).u32(c.transaction);
  if (c.type == container_type::data)
    w.raw(c.payload);
  else
    for (auto p : c.params) w.u32(p);
  return w.take();
}

std::optional<container> decode(std::span<const std::byte> wire) {
  if (wire.size() < header_size || le32(wire, 0) != wire.size()) return std::nullopt;
  container c;
  const std::uint16_t type = le16(wire, 4);
  if (type < 1 || type > 4) return std::nullopt;
  c.type = static_cast<container_type>(type);
  c.code = le16(wire, 6);
  c.transaction = le32(wire, 8);
  const auto body = wire.subspan(header_size);
  if (c.type == container_type::data) {
    c.payload.assign(body.begin(), body.end());
    return c;
  }
  if (body.size() % 4 != 0 || body.size() > 20) return std::nullopt;
  for (std::size_t at = 0; at < body.size(); at += 4) c.params.push_back(le32(body, at));
  return c;
}

void container_assembler::feed(std::span<const std::byte> data) {
  if (!broken_) buffer_.insert(buffer_.end(), data.begin(), data.end());
}

std::optional<bytes> container_assembler::next() {
  if (broken_ || buffer_.size() < 4) return std::nullopt;
  const std::uint32_t length = le32(buffer_, 0);
  if (length < header_size) {
    broken_ = true;
    buffer_.clear();
    return std::nullopt;
  }
  if (buffer_.size() < length) return std::nullopt;
  bytes one(buffer_.begin(), buffer_.begin() + length);
  buffer_.erase(buffer_.begin(), buffer_.begin() + length);
  return one;
}

writer& writer::u8(std::uint8_t v) {
  out_.push_back(static_cast<std::byte>(v));
  return *this;
}
writer& writer::u16(std::uint16_t v) {
  return u8(static_cast<std::uint8_t>(v)).u8(static_cast<std::uint8_t>(v >> 8));
}
writer& writer::u32(std::uint32_t v) {
  return u16(static_cast<std::uint16_t>(v)).u16(static_cast<std::uint16_t>(v >> 16));
}
writer& writer::u64(std::uint64_t v) {
  return u32(static_cast<std::uint32_t>(v)).u32(static_cast<std::uint32_t>(v >> 32));
}

writer& writer::str(const std::string& ascii) {
  if (ascii.empty()) return u8(0);
  const std::size_t n = std::min<std::size_t>(ascii.size(), 254);
  u8(static_cast<std::uint8_t>(n + 1));
  for (std::size_t i = 0; i < n; ++i) u16(static_cast<unsigned char>(ascii[i]));
  return u16(0);
}

writer& writer::u16_array(std::span<const std::uint16_t> v) {
  u32(static_cast<std::uint32_t>(v.size()));
  for (auto x : v) u16(x);
  return *this;
}

writer& writer::u32_array(std::span<const std::uint32_t> v) {
  u32(static_cast<std::uint32_t>(v.size()));
  for (auto x : v) u32(x);
  return *this;
}

writer& writer::value(data_type type, std::int64_t v) {
  const auto u = static_cast<std::uint64_t>(v);
  for (std::size_t i = 0; i < width_of(type); ++i) u8(static_cast<std::uint8_t>(u >> (8 * i)));
  return *this;
}

writer& writer::raw(std::span<const std::byte> b) {
  out_.insert(out_.end(), b.begin(), b.end());
  return *this;
}

std::optional<std::uint64_t> reader::uint(std::size_t width) {
  if (left() < width) return std::nullopt;
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < width; ++i) v |= static_cast<std::uint64_t>(in_[at_ + i]) << (8 * i);
  at_ += width;
  return v;
}

std::optional<std::uint16_t> reader::u16() {
  auto v = uint(2);
  return v ? std::optional<std::uint16_t>(static_cast<std::uint16_t>(*v)) : std::nullopt;
}

std::optional<std::uint32_t> reader::u32() {
  auto v = uint(4);
  return v ? std::optional<std::uint32_t>(static_cast<std::uint32_t>(*v)) : std::nullopt;
}

std::optional<std::string> reader::str() {
  auto n = uint(1);
  if (!n) return std::nullopt;
  std::string s;
  for (std::uint64_t i = 0; i < *n; ++i) {
    auto unit = u16();
    if (!unit) return std::nullopt;
    if (*unit == 0) continue;  // the terminator (or an embedded NUL: dropped)
    s.push_back(*unit < 0x80 ? static_cast<char>(*unit) : '?');
  }
  return s;
}

std::optional<std::int64_t> reader::value(data_type type) {
  const std::size_t w = width_of(type);
  auto v = uint(w);
  if (!v || w == 0) return std::nullopt;
  const bool is_signed = type == data_type::int8 || type == data_type::int16 ||
                         type == data_type::int32 || type == data_type::int64;
  if (is_signed && w < 8 && (*v >> (8 * w - 1)) != 0) *v |= ~std::uint64_t{0} << (8 * w);
  return static_cast<std::int64_t>(*v);
}

}  // namespace tether::sim::ptp
