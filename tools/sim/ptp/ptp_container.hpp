#pragma once
// PTP containers as they travel on USB bulk pipes (PTP-over-USB, "Still Image Class"):
// little-endian length u32, type u16, code u16, transaction id u32, then up to five
// u32 parameters (command, response, event) or the payload (data). Plus the dataset
// encoding PTP uses inside data phases: integers, arrays (u32 count) and strings (u8
// count of UTF-16 units including the terminator).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "tools/sim/ptp/ptp_codes.hpp"

namespace tether::sim::ptp {

using bytes = std::vector<std::byte>;

struct container {
  container_type type = container_type::command;
  std::uint16_t code = 0;
  std::uint32_t transaction = 0;
  std::vector<std::uint32_t> params;  // command, response, event: at most 5
  bytes payload;                      // data containers only
};

// The container's wire bytes (params for command/response/event, payload for data).
bytes encode(const container& c);

// Parses one whole container. nullopt if `wire` is not exactly one well-formed
// container: too short, length field disagreeing with the size, unknown type, or a
// non-data container with a partial or sixth parameter.
std::optional<container> decode(std::span<const std::byte> wire);

// Cuts a bulk OUT byte stream into containers by their length fields. A host may send
// a container in several transfers, and a zero-length transfer after one that ended on
// a packet boundary; both are fine. A length below the header size cannot be framed
// (the stream is lost until a reset): `broken()` says so.
class container_assembler {
 public:
  void feed(std::span<const std::byte> data);
  // The next complete container's bytes, oldest first.
  std::optional<bytes> next();
  bool broken() const { return broken_; }
  void reset() {
    buffer_.clear();
    broken_ = false;
  }
  std::size_t buffered() const { return buffer_.size(); }

 private:
  bytes buffer_;
  bool broken_ = false;
};

// Writes PTP datasets.
class writer {
 public:
  writer& u8(std::uint8_t v);
  writer& u16(std::uint16_t v);
  writer& u32(std::uint32_t v);
  writer& u64(std::uint64_t v);
  writer& str(const std::string& ascii);  // PTP string; "" is the single byte 0
  writer& u16_array(std::span<const std::uint16_t> v);
  writer& u32_array(std::span<const std::uint32_t> v);
  // An integer of `type`'s width (two's complement for the signed types).
  writer& value(data_type type, std::int64_t v);
  writer& raw(std::span<const std::byte> b);
  bytes take() { return std::move(out_); }
  const bytes& view() const { return out_; }

 private:
  bytes out_;
};

// Reads PTP datasets; every read fails (nullopt) past the end.
class reader {
 public:
  explicit reader(std::span<const std::byte> in) : in_(in) {}
  std::optional<std::uint64_t> uint(std::size_t width);
  std::optional<std::uint16_t> u16();
  std::optional<std::uint32_t> u32();
  std::optional<std::string> str();  // non-ASCII units come back as '?'
  // A value of `type`, sign-extended for the signed ones.
  std::optional<std::int64_t> value(data_type type);
  std::size_t left() const { return in_.size() - at_; }

 private:
  std::span<const std::byte> in_;
  std::size_t at_ = 0;
};

std::size_t width_of(data_type t);  // 0 for strings

}  // namespace tether::sim::ptp
