#pragma once
// The host (computer) end of a usbmux link: what tetherd runs for each phone.
// It offers VERSION 2 in an 8-byte header, switches to 16-byte headers and sends
// SETUP 0x07 when the phone agrees (staying on v1 when the phone answers 1), then
// opens connections to ports the phone's apps listen on.
#include <bitset>
#include <cstdint>

#include "usbmux/core/session.hpp"

namespace tether::usbmux {

class host_session final : public session {
 public:
  explicit host_session(const session_options& opts = {});

  // Queues VERSION and starts the handshake timer.
  void start(time_point now);

  // Opens a connection to `port` on the phone: SYN now, `connected` or `closed`
  // (refused, connect_timeout) later.
  result<conn_id> connect(std::uint16_t port, time_point now);

 private:
  std::error_code on_version(std::span<const std::byte> payload) override;
  void on_setup(std::span<const std::byte> payload) override;
  void on_unmatched_tcp(const tcp_header& th, std::span<const std::byte> data) override;
  void on_port_released(std::uint16_t local_port) override { ports_in_use_.reset(local_port); }

  // Next free source port. The counter skips 0 when it wraps, where the reference
  // fails one connection in every 65535.
  std::uint16_t allocate_port();

  bool started_ = false;
  std::bitset<65536> ports_in_use_;
  std::uint16_t next_port_ = 1;
};

}  // namespace tether::usbmux
