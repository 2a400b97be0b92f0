#pragma once
// Limits and timeouts of a mux session, apart from any callbacks, with the
// reference daemon's values as defaults where it has one.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace tether::usbmux {

struct session_options {
  // Largest packet this side sends, headers included (usbmuxd's USB_MTU).
  std::uint32_t max_packet_size = 49152;
  // Largest packet accepted from the peer (usbmuxd's DEV_MRU); also the framer's buffer bound.
  std::uint32_t max_incoming_packet = 65536;
  // Window advertised on every connection. Unread received bytes never exceed it,
  // so it is also the per-connection receive memory bound. Multiple of 256.
  std::uint32_t receive_window = 131072;
  // Bytes send() accepts per connection before they are packed into packets.
  std::uint32_t send_buffer = 262144;
  std::size_t max_connections = 512;
  // Replies owed to a misbehaving peer (anonymous RSTs) queue up to this many;
  // more are dropped and counted, so a flood cannot grow memory.
  std::size_t max_queued_replies = 256;
  // CONTROL messages waiting in the event queue beyond this are dropped and counted.
  std::size_t max_queued_control_messages = 64;

  // The reference waits forever for these; we do not.
  std::chrono::milliseconds handshake_timeout{5000};
  std::chrono::milliseconds connect_timeout{10000};
  // How long close() keeps flushing queued bytes into a closed window before resetting.
  std::chrono::milliseconds close_linger{5000};
  // consume(id, n, now) holds a pure ACK for at most this long, waiting for outgoing
  // data to carry it, unless a quarter of the window is owed (then it goes at once). A
  // request/reply exchange then costs one USB transfer each way instead of three.
  std::chrono::microseconds ack_delay{1000};
};

// A phone reads each bulk OUT transfer as one mux packet and refuses any read over
// 65535 bytes with a CONTROL error ("asyncReadComplete, message was too large ...",
// usbmux-wire.md 1.4), dropping it. A host session never sends a larger packet, whatever
// max_packet_size asks for (host_session clamps it).
inline constexpr std::uint32_t largest_host_packet = 65535;

struct device_options : session_options {
  // Major version the phone answers VERSION with (2 for any modern phone, 1 for old firmware).
  std::uint32_t version_major = 2;
  // Text sent in the RST payload when a SYN reaches a port nobody listens on.
  std::string refused_reason;
};

}  // namespace tether::usbmux
