#include "proto/peertalk/frame.hpp"

#include "base/byte_order.hpp"

#include <algorithm>
#include <stdexcept>

namespace tether::proto::peertalk {
namespace {

using base::load_be32;
using base::store_be32;

class peertalk_error_category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "tether.peertalk"; }
  std::string message(int v) const override {
    switch (static_cast<errc>(v)) {
      case errc::bad_version: return "PeerTalk frame header version is not 1";
      case errc::payload_too_large: return "PeerTalk frame payload is larger than allowed";
      case errc::truncated: return "stream ended inside a PeerTalk frame";
    }
    return "unknown PeerTalk framing error";
  }
};

// Reserve in steps, so a header that announces a large payload costs memory only as
// the payload arrives.
constexpr std::size_t reserve_step = 256u << 10;

}  // namespace

const std::error_category& peertalk_category() noexcept {
  static const peertalk_error_category c;
  return c;
}

std::array<std::byte, header_size> encode_header(std::uint32_t type, std::uint32_t tag,
                                                 std::uint32_t payload_size) {
  std::array<std::byte, header_size> h{};
  store_be32(h.data(), protocol_version);
  store_be32(h.data() + 4, type);
  store_be32(h.data() + 8, tag);
  store_be32(h.data() + 12, payload_size);
  return h;
}

std::vector<std::byte> encode_frame(std::uint32_t type, std::uint32_t tag,
                                    std::span<const std::byte> payload) {
  if (payload.size() > UINT32_MAX)
    throw std::length_error("PeerTalk payload of 4 GiB or more cannot be framed");
  const auto h = encode_header(type, tag, static_cast<std::uint32_t>(payload.size()));
  std::vector<std::byte> out;
  out.reserve(header_size + payload.size());
  out.insert(out.end(), h.begin(), h.end());
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

void frame_reader::fail(errc e, std::string text) {
  error_ = e;
  error_text_ = std::move(text);
  current_ = {};
  header_fill_ = 0;
  have_header_ = false;
}

std::error_code frame_reader::feed(std::span<const std::byte> bytes) {
  while (!bytes.empty() && !error_ && !ended_) {
    if (!have_header_) {
      const std::size_t n = std::min(header_size - header_fill_, bytes.size());
      std::copy_n(bytes.begin(), n, header_.begin() + static_cast<std::ptrdiff_t>(header_fill_));
      header_fill_ += n;
      bytes = bytes.subspan(n);
      if (header_fill_ < header_size) break;
      const std::uint32_t version = load_be32(header_.data());
      current_.type = load_be32(header_.data() + 4);
      current_.tag = load_be32(header_.data() + 8);
      payload_size_ = load_be32(header_.data() + 12);
      if (version != protocol_version) {
        fail(errc::bad_version, "PeerTalk frame header has version " + std::to_string(version) +
                                    ", expected 1 (is the peer speaking PeerTalk?)");
        break;
      }
      if (payload_size_ > max_payload_) {
        fail(errc::payload_too_large, "PeerTalk frame of type " + std::to_string(current_.type) +
                                          " announces " + std::to_string(payload_size_) +
                                          " payload bytes, more than the limit of " +
                                          std::to_string(max_payload_));
        break;
      }
      have_header_ = true;
      current_.payload.clear();
      current_.payload.reserve(std::min<std::size_t>(payload_size_, reserve_step));
    }
    const std::size_t want = payload_size_ - current_.payload.size();
    const std::size_t n = std::min(want, bytes.size());
    if (current_.payload.capacity() < current_.payload.size() + n)
      current_.payload.reserve(
          std::min<std::size_t>(payload_size_, current_.payload.size() + n + reserve_step));
    current_.payload.insert(current_.payload.end(), bytes.begin(),
                            bytes.begin() + static_cast<std::ptrdiff_t>(n));
    bytes = bytes.subspan(n);
    if (current_.payload.size() == payload_size_) {
      if (current_.type == end_of_stream) ended_ = true;
      ready_.push_back(std::move(current_));
      current_ = {};
      have_header_ = false;
      header_fill_ = 0;
    }
  }
  return error_;
}

std::optional<frame> frame_reader::next() {
  if (ready_.empty()) return std::nullopt;
  frame f = std::move(ready_.front());
  ready_.pop_front();
  return f;
}

std::error_code frame_reader::finish() {
  if (error_ || ended_) return error_;
  if (have_header_)
    fail(errc::truncated, "stream ended after " + std::to_string(current_.payload.size()) + " of " +
                              std::to_string(payload_size_) +
                              " payload bytes of a PeerTalk frame of type " +
                              std::to_string(current_.type));
  else if (header_fill_ > 0)
    fail(errc::truncated, "stream ended after " + std::to_string(header_fill_) +
                              " of the 16 bytes of a PeerTalk frame header");
  return error_;
}

}  // namespace tether::proto::peertalk
