#include "usbmux/core/device_session.hpp"

#include <algorithm>

#include "usbmux/core/version_packet.hpp"

namespace tether::usbmux {

device_session::device_session(const device_options& opts)
    : session(opts, rx_seq_policy::echo_peer_tx_seq),
      version_major_(opts.version_major),
      refused_reason_(opts.refused_reason) {}

std::error_code device_session::on_version(std::span<const std::byte> payload) {
  if (handshake_done_) {
    ++stats_.packets_ignored;
    return {};
  }
  if (payload.size() < version_payload_size)
    return fatal(errc::bad_version_packet, "VERSION payload of " + std::to_string(payload.size()) +
                                               " bytes is shorter than " +
                                               std::to_string(version_payload_size));
  const version_payload offered = decode_version_payload(payload.first<version_payload_size>());
  if (offered.major < 1)
    return fatal(errc::unsupported_version, "the host offered mux protocol version " +
                                                std::to_string(offered.major) + "." +
                                                std::to_string(offered.minor));
  const std::uint32_t major = std::min(offered.major, version_major_);
  queue_version(major, 0);
  finish_handshake(major >= 2 ? header_format::v2 : header_format::v1, offered.major,
                   offered.minor);
  return {};
}

void device_session::on_setup(std::span<const std::byte>) { ++setup_packets_; }

void device_session::on_unmatched_tcp(const tcp_header& th, std::span<const std::byte>) {
  if (th.flags == tcp_flag::syn) {
    if (listening_.test(th.dest_port) && connection_count() < opts_.max_connections &&
        (!gate_ || gate_(th.dest_port))) {
      accept(th);
      return;
    }
    tcp_header rst;
    rst.source_port = th.dest_port;
    rst.dest_port = th.source_port;
    rst.seq = 0;
    rst.ack = th.seq + 1;
    rst.flags = tcp_flag::rst;
    rst.window_wire = 0;
    queue_reply(rst, refused_reason_);
    return;
  }
  if (th.flags & tcp_flag::rst) {
    ++stats_.packets_ignored;
    return;
  }
  queue_anonymous_rst(th);
}

void device_session::accept(const tcp_header& syn) {
  stream& s = create_stream(syn.dest_port, syn.source_port, stream_state::established);
  // Our SYN|ACK takes sequence number 0, so data starts at 1, as on a real phone.
  s.snd_nxt = s.snd_una = 1;
  s.snd_wnd = syn.window_bytes();
  s.rcv_nxt = s.rcv_acked = syn.seq + 1;
  tcp_header reply = header_for(s, tcp_flag::syn_ack);
  reply.seq = 0;
  queue_tcp(reply);
  emit<events::accepted>(s.id, s.local_port, s.remote_port);
}

}  // namespace tether::usbmux
