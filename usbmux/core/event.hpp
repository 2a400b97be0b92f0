#pragma once
// What a session reports to its owner. Events are edge-triggered per connection
// (one `readable` until the data is drained, one `writable` after a short send,
// one `closed`), so the queue never holds more than a few entries per connection.
#include <cstdint>
#include <string>
#include <variant>

#include "usbmux/core/mux_header.hpp"

namespace tether::usbmux {

using conn_id = std::uint32_t;

enum class close_reason : std::uint8_t {
  refused,             // the phone answered SYN with RST: nothing listens on that port
  connect_timeout,     // no SYN|ACK in time
  reset_by_peer,       // the peer sent RST (the only way a mux connection ends)
  protocol_violation,  // the peer broke the protocol on this connection; we sent RST
  window_violation,    // the peer sent beyond the window we advertised; we sent RST
  session_ended,       // the whole session failed (see receive()/on_timer() error)
};

const char* to_string(close_reason r);

namespace events {

struct handshake_done {
  header_format format;  // v2 unless the peer only speaks version 1
  std::uint32_t peer_major;
  std::uint32_t peer_minor;
};
struct connected {  // host side: SYN|ACK received, the connection is open
  conn_id id;
};
struct accepted {  // device side: a SYN on a listening port was accepted
  conn_id id;
  std::uint16_t port;       // local (phone) port
  std::uint16_t peer_port;  // host's source port
};
struct readable {  // bytes wait in received(id); no new event until they are consumed
  conn_id id;
};
struct writable {  // send buffer space freed after a send() that did not take everything
  conn_id id;
};
struct closed {  // final event for this id; unread bytes stay readable until close(id)
  conn_id id;
  close_reason reason;
  std::string detail;  // peer's RST text or what was violated; may be empty
};
struct control_message {  // CONTROL packet from the phone: 3 error, 5 warning, 7 info
  std::uint8_t type;
  std::string text;
};

}  // namespace events

using event =
    std::variant<events::handshake_done, events::connected, events::accepted, events::readable,
                 events::writable, events::closed, events::control_message>;

}  // namespace tether::usbmux
