#pragma once
// Helpers for engine tests: build packets with the engine's own encoders, take apart
// what a session pulls, and drain its events. Hand-written hex is kept for the
// reference vectors only.
#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "usbmux/core/mux_header.hpp"
#include "usbmux/core/session.hpp"
#include "usbmux/core/tcp_header.hpp"

namespace tether::usbmux::test {

using bytes = std::vector<std::byte>;
using namespace std::chrono_literals;

inline const time_point t0{};

// "00 0a ff" -> bytes; spaces and '|' are ignored.
bytes hex(std::string_view text);
std::string to_hex(std::span<const std::byte> b);
bytes text_bytes(std::string_view s);

bytes mux_packet(header_format f, protocol p, std::span<const std::byte> body,
                 std::uint16_t tx_seq = 0, std::uint16_t rx_seq = 0);
bytes version_packet(std::uint32_t major, std::uint32_t minor = 0);  // 8-byte header
tcp_header th(std::uint16_t sport, std::uint16_t dport, std::uint32_t seq, std::uint32_t ack,
              std::uint8_t flags, std::uint16_t window_wire = 512);
bytes tcp_packet(header_format f, const tcp_header& h, std::span<const std::byte> payload = {});
bytes tcp_packet(header_format f, const tcp_header& h, std::string_view payload);

struct parsed {
  mux_header mux;
  std::optional<tcp_header> tcp;
  bytes body;  // after the TCP header for TCP packets, after the mux header otherwise
};
parsed parse(std::span<const std::byte> packet, header_format f);

// Every packet the session has due, each as its own buffer.
std::vector<bytes> drain(session& s);
// Every packet due, parsed with the session's current header format.
std::vector<parsed> drain_parsed(session& s);
std::vector<event> drain_events(session& s);

template <class E>
std::vector<E> only(const std::vector<event>& evs) {
  std::vector<E> out;
  for (const auto& e : evs)
    if (const E* p = std::get_if<E>(&e)) out.push_back(*p);
  return out;
}

std::string as_string(std::span<const std::byte> b);

}  // namespace tether::usbmux::test
