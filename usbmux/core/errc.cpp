#include "usbmux/core/errc.hpp"

#include <string>

namespace tether::usbmux {
namespace {

class mux_error_category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "tether.usbmux"; }

  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::bad_packet_length: return "mux packet length is shorter than its header";
      case errc::packet_too_large: return "mux packet is larger than the allowed maximum";
      case errc::bad_version_packet: return "VERSION packet is too short";
      case errc::unsupported_version: return "peer speaks an unsupported mux protocol version";
      case errc::unknown_protocol: return "mux packet has an unknown protocol number";
      case errc::truncated_tcp_header: return "TCP packet is shorter than its 20-byte header";
      case errc::handshake_timeout: return "peer did not answer the VERSION handshake in time";
      case errc::unexpected_handshake: return "peer sent a packet the handshake does not allow";
      case errc::session_failed: return "the mux session has already failed";
      case errc::not_ready: return "the mux handshake has not completed yet";
      case errc::too_many_connections: return "too many connections on this device";
      case errc::no_free_port: return "no free local port for a new connection";
      case errc::unknown_connection: return "no such connection";
      case errc::connection_closed: return "the connection is closed";
    }
    return "unknown usbmux error";
  }
};

}  // namespace

const std::error_category& usbmux_category() noexcept {
  static const mux_error_category instance;
  return instance;
}

bool is_fatal(std::error_code ec) noexcept {
  if (ec.category() != usbmux_category()) return static_cast<bool>(ec);
  return ec.value() >= static_cast<int>(errc::bad_packet_length) &&
         ec.value() <= static_cast<int>(errc::session_failed);
}

}  // namespace tether::usbmux
