// session, the receiving half: packets in, streams fed, events out; time and failure.
// Sending and the owner's side of a connection are in session_send.cpp.
#include "usbmux/core/session.hpp"

#include <algorithm>
#include <cstdio>

namespace tether::usbmux {
namespace {

// RST payloads and CONTROL texts come from the peer: keep what we report short.
constexpr std::size_t max_peer_text = 256;

std::string peer_text(std::span<const std::byte> bytes) {
  std::string s;
  const std::size_t n = std::min(bytes.size(), max_peer_text);
  s.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    const auto c = std::to_integer<unsigned char>(bytes[i]);
    s.push_back(c >= 0x20 && c < 0x7f ? static_cast<char>(c) : (c == '\n' ? ' ' : '?'));
  }
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

std::string flags_text(std::uint8_t flags) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "unexpected TCP flags 0x%02x", flags);
  return buf;
}

}  // namespace

const char* to_string(close_reason r) {
  switch (r) {
    case close_reason::refused: return "refused";
    case close_reason::connect_timeout: return "connect timeout";
    case close_reason::reset_by_peer: return "reset by peer";
    case close_reason::protocol_violation: return "protocol violation";
    case close_reason::window_violation: return "window violation";
    case close_reason::session_ended: return "session ended";
  }
  return "unknown";
}

session::session(const session_options& opts, rx_seq_policy policy)
    : opts_(opts), rx_policy_(policy), framer_(opts.max_incoming_packet) {}

// ---------------------------------------------------------------------------------
// Receiving

std::error_code session::receive(std::span<const std::byte> bytes) {
  if (failure_) return errc::session_failed;
  std::error_code ec =
      framer_.feed(bytes, [this](std::span<const std::byte> p) { return on_packet(p); });
  if (ec) fail(ec, pending_detail_.empty() ? framer_.error_detail() : pending_detail_);
  return ec;
}

std::error_code session::on_packet(std::span<const std::byte> packet) {
  ++stats_.packets_received;
  const std::size_t hs = header_size(format_);
  if (packet.size() < hs)
    return fatal(errc::bad_packet_length, "mux packet length " + std::to_string(packet.size()) +
                                              " is shorter than its " + std::to_string(hs) +
                                              "-byte header");
  const mux_header h = *decode_mux_header(packet, format_);
  if (format_ == header_format::v2) {
    peer_tx_seq_ = h.tx_seq;
    peer_rx_field_ = h.rx_seq;
  }
  const auto payload = packet.subspan(hs);
  switch (h.proto) {
    case protocol::version: return on_version(payload);
    case protocol::control: on_control(payload); return {};
    case protocol::setup: on_setup(payload); return {};
    case protocol::tcp:
      if (!handshake_done_) {
        ++stats_.packets_before_handshake;
        return {};
      }
      return on_tcp(payload);
  }
  return fatal(errc::unknown_protocol, "mux packet has the unknown protocol number " +
                                           std::to_string(static_cast<std::uint32_t>(h.proto)));
}

void session::on_control(std::span<const std::byte> payload) {
  if (payload.empty()) {
    ++stats_.packets_ignored;
    return;
  }
  if (queued_control_messages_ >= opts_.max_queued_control_messages) {
    ++stats_.control_messages_dropped;
    return;
  }
  ++queued_control_messages_;
  emit<events::control_message>(std::to_integer<std::uint8_t>(payload[0]),
                                peer_text(payload.subspan(1)));
}

std::error_code session::on_tcp(std::span<const std::byte> payload) {
  if (payload.size() < tcp_header_size)
    return fatal(errc::truncated_tcp_header, "TCP packet of " + std::to_string(payload.size()) +
                                                 " bytes is shorter than its 20-byte header");
  const tcp_header th = decode_tcp_header(payload.first<tcp_header_size>());
  const auto data = payload.subspan(tcp_header_size);
  stream* s = find_by_ports(th.dest_port, th.source_port);
  if (s == nullptr) {
    on_unmatched_tcp(th, data);
    return {};
  }
  if (th.data_offset_words != 5) {
    end_stream(*s, close_reason::protocol_violation, "TCP header with options", true);
    return {};
  }
  on_stream_packet(*s, th, data);
  return {};
}

void session::on_syn_reply(stream& s, const tcp_header& th, std::span<const std::byte> data) {
  if (th.flags == tcp_flag::syn_ack) {
    s.state = stream_state::established;
    s.snd_nxt = s.snd_una = 1;  // our SYN used sequence number 0
    s.snd_wnd = th.window_bytes();
    s.rcv_nxt = th.seq + 1;  // the peer's SYN used one too
    s.rcv_acked = s.rcv_nxt;
    s.ack_forced = true;  // the third step of the handshake
    clear_deadline(s);
    schedule_ack(s);
    emit<events::connected>(s.id);
  } else if (th.flags & tcp_flag::rst) {
    end_stream(s, close_reason::refused, peer_text(data), false);
  } else {
    end_stream(s, close_reason::refused, flags_text(th.flags) + " in reply to SYN", true);
  }
}

void session::on_stream_packet(stream& s, const tcp_header& th, std::span<const std::byte> data) {
  if (s.state == stream_state::syn_sent) return on_syn_reply(s, th, data);

  if (th.flags & tcp_flag::rst) {
    end_stream(s, close_reason::reset_by_peer, peer_text(data), false);
    return;
  }
  // Data and window updates carry exactly ACK; no FIN, PSH or URG exist on this link.
  if (th.flags != tcp_flag::ack) {
    end_stream(s, close_reason::protocol_violation, flags_text(th.flags), true);
    return;
  }

  const std::uint32_t advance = th.ack - s.snd_una;
  if (advance > s.in_flight()) {
    end_stream(s, close_reason::protocol_violation, "peer acknowledged bytes never sent", true);
    return;
  }
  s.snd_una = th.ack;
  s.snd_wnd = th.window_bytes();
  if (!s.tx.empty() && s.window_left() > 0) schedule_send(s);

  if (data.empty()) return;
  if (th.seq != s.rcv_nxt) {
    end_stream(s, close_reason::protocol_violation,
               "data out of sequence: expected seq " + std::to_string(s.rcv_nxt) + ", got " +
                   std::to_string(th.seq),
               true);
    return;
  }
  const std::uint64_t limit = std::uint64_t{opts_.receive_window};
  if (std::uint64_t{static_cast<std::uint32_t>(s.rcv_nxt - s.rcv_acked)} + data.size() > limit) {
    end_stream(s, close_reason::window_violation,
               "peer sent " + std::to_string(data.size()) + " bytes into a window of " +
                   std::to_string(limit - static_cast<std::uint32_t>(s.rcv_nxt - s.rcv_acked)),
               true);
    return;
  }
  s.rcv_nxt += static_cast<std::uint32_t>(data.size());
  s.bytes_received += data.size();
  stats_.payload_bytes_received += data.size();
  if (s.state == stream_state::closing) {
    // The owner is gone; count the bytes as delivered so the peer is not stalled.
    schedule_ack(s);
    return;
  }
  s.rx.append(data);
  if (!s.readable_signalled) {
    s.readable_signalled = true;
    emit<events::readable>(s.id);
  }
}

// ---------------------------------------------------------------------------------
// Time, events, failure

void session::set_deadline(stream& s, time_point t) {
  clear_deadline(s);
  s.deadline = t;
  deadlines_.emplace(t, s.id);
}

void session::clear_deadline(stream& s) {
  if (!s.deadline) return;
  deadlines_.erase({*s.deadline, s.id});
  s.deadline.reset();
}

std::optional<time_point> session::next_deadline() const {
  if (failure_) return std::nullopt;
  if (anchor_handshake_deadline_) return time_point{};  // at once: on_timer() has the clock
  std::optional<time_point> t = handshake_deadline_;
  if (!deadlines_.empty() && (!t || deadlines_.begin()->first < *t)) t = deadlines_.begin()->first;
  return t;
}

std::error_code session::on_timer(time_point now) {
  if (failure_) return errc::session_failed;
  if (anchor_handshake_deadline_) {
    anchor_handshake_deadline_ = false;
    handshake_deadline_ = now + opts_.handshake_timeout;
  }
  if (handshake_deadline_ && now >= *handshake_deadline_) {
    fail(errc::handshake_timeout);
    return errc::handshake_timeout;
  }
  while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
    stream* s = find(deadlines_.begin()->second);
    deadlines_.erase(deadlines_.begin());
    if (s == nullptr) continue;
    s->deadline.reset();
    if (s->state == stream_state::syn_sent) {
      end_stream(*s, close_reason::connect_timeout,
                 "no reply to SYN within " + std::to_string(opts_.connect_timeout.count()) + " ms",
                 true);
    } else if (s->state == stream_state::established) {
      schedule_ack(*s);  // no data came to carry the acknowledgement: send it alone
    } else if (s->state == stream_state::closing) {
      // The peer kept its window shut for the whole linger time: give up on the rest.
      queue_tcp(header_for(*s, tcp_flag::rst));
      unregister_ports(*s);
      erase(*s);
    }
  }
  return {};
}

std::optional<event> session::poll_event() {
  if (events_.empty()) return std::nullopt;
  event e = std::move(events_.front());
  events_.pop_front();
  if (std::holds_alternative<events::control_message>(e)) --queued_control_messages_;
  return e;
}

void session::finish_handshake(header_format f, std::uint32_t peer_major,
                               std::uint32_t peer_minor) {
  format_ = f;
  handshake_done_ = true;
  handshake_deadline_.reset();
  emit<events::handshake_done>(f, peer_major, peer_minor);
}

std::string session::failure_text() const {
  if (!failure_) return {};
  return failure_detail_.empty() ? failure_.message() : failure_detail_;
}

void session::fail(std::error_code ec, std::string detail) {
  if (failure_) return;
  failure_ = ec;
  failure_detail_ = std::move(detail);
  pending_detail_.clear();
  handshake_deadline_.reset();
  for (auto it = streams_.begin(); it != streams_.end();) {
    stream& s = it->second;
    s.deadline.reset();
    if (s.state == stream_state::closing) {
      it = streams_.erase(it);
      continue;
    }
    if (s.state != stream_state::dead) {
      s.state = stream_state::dead;
      s.tx.clear();
      emit<events::closed>(s.id, close_reason::session_ended, failure_text());
    }
    ++it;
  }
  by_ports_.clear();
  deadlines_.clear();
  control_.clear();
  replies_.clear();
  ack_queue_.clear();
  send_queue_.clear();
}

void session::restart(const std::string& why) {
  ++stats_.session_restarts;
  for (auto it = streams_.begin(); it != streams_.end();) {
    stream& s = it->second;
    s.deadline.reset();
    unregister_ports(s);                     // the new session may hand the same ports out again
    if (s.state == stream_state::closing) {  // the owner let go already
      it = streams_.erase(it);
      continue;
    }
    if (s.state != stream_state::dead) {
      s.state = stream_state::dead;
      s.tx.clear();
      emit<events::closed>(s.id, close_reason::session_ended, why);
    }
    ++it;
  }
  by_ports_.clear();
  deadlines_.clear();
  control_.clear();
  replies_.clear();
  ack_queue_.clear();
  send_queue_.clear();
  format_ = header_format::v1;
  handshake_done_ = false;
  handshake_deadline_.reset();
  anchor_handshake_deadline_ = true;
  tx_seq_ = 0;
  peer_tx_seq_ = 0;
  peer_rx_field_ = 0xFFFF;
}

stream* session::find(conn_id id) {
  auto it = streams_.find(id);
  return it == streams_.end() ? nullptr : &it->second;
}

const stream* session::find(conn_id id) const {
  auto it = streams_.find(id);
  return it == streams_.end() ? nullptr : &it->second;
}

stream* session::find_by_ports(std::uint16_t local, std::uint16_t remote) {
  auto it = by_ports_.find(port_key(local, remote));
  return it == by_ports_.end() ? nullptr : find(it->second);
}

}  // namespace tether::usbmux
