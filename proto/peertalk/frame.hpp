#pragma once
// PeerTalk framing (rsms/peertalk, PTProtocol.m), byte for byte: a 16-byte header of
// four big-endian uint32 fields, then the payload.
//
//   offset 0  version       always 1 (PTProtocolVersion1); anything else ends the channel
//   offset 4  type          application-defined; 0 is PTFrameTypeEndOfStream
//   offset 8  tag           request/reply correlation; 0 is PTFrameNoTag
//   offset 12 payload size  bytes that follow
//
// PeerTalk itself does not bound the payload size; this reader does (set at construction),
// so a hostile or broken peer cannot make us buffer more than one frame of that size.
#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <vector>

namespace tether::proto::peertalk {

inline constexpr std::size_t header_size = 16;
inline constexpr std::uint32_t protocol_version = 1;  // PTProtocolVersion1
inline constexpr std::uint32_t end_of_stream = 0;     // PTFrameTypeEndOfStream: never send data
inline constexpr std::uint32_t no_tag = 0;            // PTFrameNoTag
inline constexpr std::uint32_t default_max_payload = 16u << 20;  // 16 MiB

struct frame {
  std::uint32_t type = 0;
  std::uint32_t tag = 0;
  std::vector<std::byte> payload;
  bool operator==(const frame&) const = default;
};

// The 16 header bytes for a payload of `payload_size` bytes (for writers that send the
// payload from its own buffer, e.g. a JPEG straight from the camera).
std::array<std::byte, header_size> encode_header(std::uint32_t type, std::uint32_t tag,
                                                 std::uint32_t payload_size);
// A complete frame. The payload must be shorter than 4 GiB (std::length_error otherwise).
std::vector<std::byte> encode_frame(std::uint32_t type, std::uint32_t tag,
                                    std::span<const std::byte> payload);

enum class errc {
  bad_version = 1,    // header version is not 1
  payload_too_large,  // payload size above the reader's bound
  truncated,          // finish() inside a frame (a short header or payload)
};
const std::error_category& peertalk_category() noexcept;
inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), peertalk_category()};
}

// Splits a byte stream into frames, in any chunking. Bytes of an incomplete frame are
// buffered up to one frame (header + at most max_payload); complete frames wait in a
// queue for next(), so feed what one socket read returned and drain next() before the
// next read. Errors are sticky: once the stream cannot be framed, feed() drops input and
// the channel should be closed after the frames already returned are handled.
//
// A frame of type 0 (end of stream) is returned like any other frame and then ends the
// stream: ended() becomes true and later bytes are ignored, as PTChannel does.
class frame_reader {
 public:
  explicit frame_reader(std::uint32_t max_payload = default_max_payload)
      : max_payload_(max_payload) {}

  std::error_code feed(std::span<const std::byte> bytes);
  std::optional<frame> next();
  // The stream reached EOF: an error (errc::truncated) when it stopped inside a frame.
  std::error_code finish();

  std::error_code error() const { return error_; }
  // What is wrong, with the numbers: "PeerTalk frame header has version 2, expected 1".
  const std::string& error_text() const { return error_text_; }
  bool ended() const { return ended_; }
  // Bytes of the frame being assembled (header and payload so far), not counting queued
  // complete frames.
  std::size_t buffered() const {
    return have_header_ ? header_size + current_.payload.size() : header_fill_;
  }
  std::uint32_t max_payload() const { return max_payload_; }

 private:
  void fail(errc e, std::string text);

  std::uint32_t max_payload_;
  std::array<std::byte, header_size> header_{};
  std::size_t header_fill_ = 0;
  bool have_header_ = false;
  std::uint32_t payload_size_ = 0;
  frame current_;
  std::deque<frame> ready_;
  bool ended_ = false;
  std::error_code error_;
  std::string error_text_;
};

}  // namespace tether::proto::peertalk

template <>
struct std::is_error_code_enum<tether::proto::peertalk::errc> : std::true_type {};
