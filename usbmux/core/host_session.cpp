#include "usbmux/core/host_session.hpp"

#include "usbmux/core/version_packet.hpp"

namespace tether::usbmux {

namespace {

session_options clamped(session_options o) {
  if (o.max_packet_size > largest_host_packet) o.max_packet_size = largest_host_packet;
  return o;
}

}  // namespace

host_session::host_session(const session_options& opts)
    : session(clamped(opts), rx_seq_policy::echo_peer_rx_field) {}

void host_session::start(time_point now) {
  if (started_) return;
  started_ = true;
  queue_version(2, 0);
  handshake_deadline_ = now + opts_.handshake_timeout;
}

std::error_code host_session::on_version(std::span<const std::byte> payload) {
  if (!started_) {
    ++stats_.packets_ignored;
    return {};
  }
  if (handshake_done_) {
    // The phone started over inside a live session: what it does then is not known
    // (real-phone.md 2.4), and its old connections are gone on its side if it did. The
    // reference warns and carries on; we end the connections, saying why, and shake
    // hands afresh, as with a phone that was just plugged in.
    restart("the phone restarted its mux session (VERSION inside a live session)");
    queue_version(2, 0);
    return {};
  }
  if (payload.size() < version_payload_size)
    return fatal(errc::bad_version_packet, "VERSION payload of " + std::to_string(payload.size()) +
                                               " bytes is shorter than " +
                                               std::to_string(version_payload_size));
  const version_payload v = decode_version_payload(payload.first<version_payload_size>());
  if (v.major == 2) {
    finish_handshake(header_format::v2, v.major, v.minor);
    queue_setup();
  } else if (v.major == 1) {
    finish_handshake(header_format::v1, v.major, v.minor);
  } else {
    return fatal(errc::unsupported_version,
                 "the phone answered mux protocol version " + std::to_string(v.major) + "." +
                     std::to_string(v.minor) + "; tether speaks 1 and 2");
  }
  return {};
}

void host_session::on_setup(std::span<const std::byte>) {
  ++stats_.packets_ignored;  // only hosts send SETUP
}

void host_session::on_unmatched_tcp(const tcp_header& th, std::span<const std::byte>) {
  if (th.flags & tcp_flag::rst) {
    ++stats_.packets_ignored;
    return;
  }
  queue_anonymous_rst(th);
}

std::uint16_t host_session::allocate_port() {
  for (std::uint32_t tries = 0; tries < 65535; ++tries) {
    const std::uint16_t port = next_port_;
    next_port_ = next_port_ == 0xFFFF ? 1 : static_cast<std::uint16_t>(next_port_ + 1);
    if (!ports_in_use_.test(port)) {
      ports_in_use_.set(port);
      return port;
    }
  }
  return 0;
}

result<conn_id> host_session::connect(std::uint16_t port, time_point now) {
  if (failed()) return errc::session_failed;
  if (!handshake_done_) return errc::not_ready;
  if (connection_count() >= opts_.max_connections) return errc::too_many_connections;
  const std::uint16_t sport = allocate_port();
  if (sport == 0) return errc::no_free_port;
  stream& s = create_stream(sport, port, stream_state::syn_sent);
  queue_tcp(header_for(s, tcp_flag::syn));
  set_deadline(s, now + opts_.connect_timeout);
  return s.id;
}

}  // namespace tether::usbmux
