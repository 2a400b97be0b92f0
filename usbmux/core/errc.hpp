#pragma once
// Error codes of the usbmux engine. They travel as std::error_code so that the
// daemon (and Asio completion handlers) can carry them unchanged.
#include <system_error>

namespace tether::usbmux {

enum class errc {
  // Fatal: the link to this phone is unusable and the session has ended.
  bad_packet_length = 1,  // mux length field smaller than the header it announces
  packet_too_large,       // mux length field above the configured maximum
  bad_version_packet,     // VERSION packet too short to hold its payload
  unsupported_version,    // peer answered with a major version other than 1 or 2
  unknown_protocol,       // mux protocol number not VERSION/CONTROL/SETUP/TCP
  truncated_tcp_header,   // TCP packet shorter than its 20-byte header
  handshake_timeout,      // no VERSION reply within the configured time
  unexpected_handshake,   // peer sent something the handshake does not allow
  session_failed,         // an earlier fatal error ended the session

  // Not fatal: a request the caller made could not be carried out.
  not_ready,             // the VERSION handshake has not completed yet
  too_many_connections,  // the configured connection limit is reached
  no_free_port,          // every local source port is in use
  unknown_connection,    // no open connection has this id
  connection_closed,     // the connection has ended; it cannot send any more
};

const std::error_category& usbmux_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), usbmux_category()};
}

// A fatal code means the session is dead and every connection on it has closed.
bool is_fatal(std::error_code ec) noexcept;

}  // namespace tether::usbmux

template <>
struct std::is_error_code_enum<tether::usbmux::errc> : std::true_type {};
