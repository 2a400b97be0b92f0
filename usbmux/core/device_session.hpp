#pragma once
// The phone end of a usbmux link, as an iPhone behaves: it answers VERSION, takes
// SETUP, accepts SYN on ports its apps listen on and refuses others with RST.
// It drives the engine's tests and is the heart of the virtual iPhone.
#include <bitset>
#include <cstdint>
#include <functional>

#include "usbmux/core/session.hpp"

namespace tether::usbmux {

class device_session final : public session {
 public:
  explicit device_session(const device_options& opts = {});

  void listen(std::uint16_t port) { listening_.set(port); }
  // Asked on each SYN to a listening port: false refuses it with RST, as a phone does
  // when the app behind the port is not there (yet).
  void set_accept_gate(std::function<bool(std::uint16_t port)> gate) { gate_ = std::move(gate); }

  std::uint64_t setup_packets() const { return setup_packets_; }

 private:
  std::error_code on_version(std::span<const std::byte> payload) override;
  void on_setup(std::span<const std::byte> payload) override;
  void on_unmatched_tcp(const tcp_header& th, std::span<const std::byte> data) override;

  void accept(const tcp_header& syn);

  std::uint32_t version_major_;
  std::string refused_reason_;
  std::bitset<65536> listening_;
  std::function<bool(std::uint16_t)> gate_;
  std::uint64_t setup_packets_ = 0;
};

}  // namespace tether::usbmux
