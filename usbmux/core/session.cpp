#include "usbmux/core/session.hpp"

#include <algorithm>
#include <array>
#include <cassert>
#include <cstdio>
#include <cstring>

#include "usbmux/core/version_packet.hpp"

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

std::span<const std::byte> as_bytes(const std::string& s) {
  return std::as_bytes(std::span(s.data(), s.size()));
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
// Sending

bool session::want_write() const {
  return !failure_ &&
         (!control_.empty() || !replies_.empty() || !ack_queue_.empty() || !send_queue_.empty());
}

std::size_t session::pull_packet(std::span<std::byte> out) {
  assert(out.size() >= min_packet_buffer);
  if (failure_) return 0;
  if (!control_.empty()) return write_queued(out, control_);
  if (!replies_.empty()) return write_queued(out, replies_);

  const std::size_t room = std::min<std::size_t>(out.size(), opts_.max_packet_size) -
                           header_size(format_) - tcp_header_size;
  while (!ack_queue_.empty()) {
    stream* s = find(ack_queue_.front());
    ack_queue_.pop_front();
    if (s == nullptr || !s->in_ack_queue) continue;
    s->in_ack_queue = false;
    if (!s->open_for_data() || !s->ack_owed()) continue;
    // Data ready to go carries the ack itself; a pure ACK only when there is none.
    return write_data(out, *s, room);
  }
  while (!send_queue_.empty()) {
    stream* s = find(send_queue_.front());
    send_queue_.pop_front();
    if (s == nullptr || !s->in_send_queue) continue;
    s->in_send_queue = false;
    if (!s->open_for_data() || sendable(*s, room) == 0) continue;
    return write_data(out, *s, room);
  }
  return 0;
}

std::size_t session::sendable(const stream& s, std::size_t room) {
  return std::min({s.tx.size(), std::size_t{s.window_left()}, room});
}

std::size_t session::write_data(std::span<std::byte> out, stream& s, std::size_t room) {
  const std::size_t len = write_stream_packet(out, s, sendable(s, room));
  if (s.tx.empty()) {
    if (s.state == stream_state::closing) {
      queue_tcp(header_for(s, tcp_flag::rst));
      unregister_ports(s);
      erase(s);
    }
  } else if (s.window_left() > 0) {
    schedule_send(s);  // round robin: back of the queue
  }
  return len;
}

std::size_t session::write_stream_packet(std::span<std::byte> out, stream& s, std::size_t payload) {
  const tcp_header th = header_for(s, tcp_flag::ack);
  std::array<std::byte, tcp_header_size> tcp{};
  encode(th, tcp);
  const std::size_t len =
      write_packet(out, protocol::tcp, format_, tcp, s.tx.data().first(payload));
  s.rcv_acked = th.ack;
  s.ack_forced = false;
  if (s.state == stream_state::established) clear_deadline(s);  // the delayed ACK went
  if (payload != 0) {
    s.snd_nxt += static_cast<std::uint32_t>(payload);
    s.tx.consume(payload);
    s.bytes_sent += payload;
    stats_.payload_bytes_sent += payload;
    if (s.want_writable) {
      s.want_writable = false;
      emit<events::writable>(s.id);
    }
  }
  return len;
}

std::size_t session::write_queued(std::span<std::byte> out, std::deque<queued_packet>& q) {
  queued_packet p = std::move(q.front());
  q.pop_front();
  if (p.proto == protocol::version) {
    // The VERSION exchange always travels in 8-byte headers.
    return write_packet(out, p.proto, header_format::v1, as_bytes(p.payload));
  }
  if (p.proto == protocol::setup) {
    // SETUP restarts the mux counters: it carries tx_seq 0 and rx_seq 0xFFFF itself.
    tx_seq_ = 0;
    peer_rx_field_ = 0xFFFF;
    peer_tx_seq_ = 0xFFFF;
    return write_packet(out, p.proto, format_, as_bytes(p.payload));
  }
  std::array<std::byte, tcp_header_size> tcp{};
  encode(p.tcp, tcp);
  const std::size_t max_text = out.size() - header_size(format_) - tcp_header_size;
  const auto text = as_bytes(p.payload);
  return write_packet(out, p.proto, format_, tcp, text.first(std::min(text.size(), max_text)));
}

std::size_t session::write_packet(std::span<std::byte> out, protocol proto, header_format f,
                                  std::span<const std::byte> a, std::span<const std::byte> b) {
  const std::size_t hs = header_size(f);
  const std::size_t total = hs + a.size() + b.size();
  mux_header h;
  h.proto = proto;
  h.length = static_cast<std::uint32_t>(total);
  h.tx_seq = tx_seq_;
  h.rx_seq = rx_seq_to_send();
  encode(h, f, out);
  if (!a.empty()) std::memcpy(out.data() + hs, a.data(), a.size());
  if (!b.empty()) std::memcpy(out.data() + hs + a.size(), b.data(), b.size());
  if (f == header_format::v2) ++tx_seq_;
  ++stats_.packets_sent;
  return total;
}

std::uint16_t session::rx_seq_to_send() const {
  return rx_policy_ == rx_seq_policy::echo_peer_rx_field ? peer_rx_field_ : peer_tx_seq_;
}

tcp_header session::header_for(const stream& s, std::uint8_t flags) const {
  tcp_header th;
  th.source_port = s.local_port;
  th.dest_port = s.remote_port;
  th.seq = s.snd_nxt;
  th.ack = s.read_point();
  th.flags = flags;
  th.window_wire = window_to_wire(opts_.receive_window);
  return th;
}

void session::queue_version(std::uint32_t major, std::uint32_t minor) {
  std::string body(version_payload_size, '\0');
  encode(version_payload{major, minor, 0},
         std::as_writable_bytes(std::span(body.data(), body.size())).first<version_payload_size>());
  control_.push_back({protocol::version, {}, std::move(body)});
}

void session::queue_setup() {
  control_.push_back({protocol::setup, {}, std::string(1, static_cast<char>(setup_byte))});
}

void session::queue_tcp(const tcp_header& th, std::string payload) {
  control_.push_back({protocol::tcp, th, std::move(payload)});
}

void session::queue_reply(const tcp_header& th, std::string payload) {
  if (replies_.size() >= opts_.max_queued_replies) {
    ++stats_.replies_dropped;
    return;
  }
  replies_.push_back({protocol::tcp, th, std::move(payload)});
}

void session::queue_anonymous_rst(const tcp_header& offending) {
  tcp_header th;
  th.source_port = offending.dest_port;
  th.dest_port = offending.source_port;
  th.seq = 0;
  th.ack = offending.seq;
  th.flags = tcp_flag::rst;
  th.window_wire = 0;
  const auto before = stats_.replies_dropped;
  queue_reply(th);
  if (stats_.replies_dropped == before) ++stats_.anonymous_resets_sent;
}

void session::schedule_send(stream& s) {
  if (s.in_send_queue) return;
  s.in_send_queue = true;
  send_queue_.push_back(s.id);
}

void session::schedule_ack(stream& s) {
  if (s.in_ack_queue) return;
  s.in_ack_queue = true;
  ack_queue_.push_back(s.id);
}

// ---------------------------------------------------------------------------------
// Connections, owner side

result<std::size_t> session::send(conn_id id, std::span<const std::byte> bytes) {
  const auto room = prepare(id, bytes.size());
  if (!room) return room.error();
  if (!room->empty()) std::memcpy(room->data(), bytes.data(), room->size());
  return commit(id, room->size());
}

result<std::span<std::byte>> session::prepare(conn_id id, std::size_t max) {
  stream* s = find(id);
  if (s == nullptr) return errc::unknown_connection;
  if (s->state == stream_state::syn_sent) return errc::not_ready;
  if (s->state != stream_state::established) return errc::connection_closed;
  const std::size_t space =
      opts_.send_buffer - std::min<std::size_t>(s->tx.size(), opts_.send_buffer);
  if (space < max) s->want_writable = true;
  return s->tx.prepare(std::min(space, max));
}

result<std::size_t> session::commit(conn_id id, std::size_t n) {
  stream* s = find(id);
  if (s == nullptr) return errc::unknown_connection;
  if (s->state != stream_state::established) return errc::connection_closed;
  if (!s->tx.commit(n)) return std::make_error_code(std::errc::invalid_argument);
  if (n != 0 && s->window_left() > 0) schedule_send(*s);
  return n;
}

std::size_t session::send_space(conn_id id) const {
  const stream* s = find(id);
  if (s == nullptr || s->state != stream_state::established) return 0;
  return opts_.send_buffer - std::min<std::size_t>(s->tx.size(), opts_.send_buffer);
}

void session::notify_writable(conn_id id) {
  if (stream* s = find(id); s != nullptr && s->state == stream_state::established)
    s->want_writable = true;
}

std::span<const std::byte> session::received(conn_id id) const {
  const stream* s = find(id);
  return s == nullptr ? std::span<const std::byte>{} : s->rx.data();
}

// Drops n delivered bytes from the receive buffer; the caller decides when to ack.
stream* session::take_delivered(conn_id id, std::size_t n) {
  stream* s = find(id);
  if (s == nullptr || n == 0) return nullptr;
  s->rx.consume(std::min(n, s->rx.size()));
  if (s->rx.empty()) s->readable_signalled = false;
  return s;
}

void session::consume(conn_id id, std::size_t n) {
  stream* s = take_delivered(id, n);
  if (s != nullptr && s->open_for_data()) schedule_ack(*s);
}

void session::consume(conn_id id, std::size_t n, time_point now) {
  stream* s = take_delivered(id, n);
  if (s == nullptr) return;
  if (s->state != stream_state::established || opts_.ack_delay.count() == 0) {
    if (s->open_for_data()) schedule_ack(*s);
    return;
  }
  const std::uint32_t owed = s->read_point() - s->rcv_acked;
  if (!s->tx.empty() || owed >= opts_.receive_window / 4) {
    schedule_ack(*s);  // data carries it now, or the peer's window needs it
  } else if (!s->deadline) {
    set_deadline(*s, now + opts_.ack_delay);  // an established stream has no other deadline
  }
}

std::error_code session::close(conn_id id, time_point now) {
  stream* s = find(id);
  if (s == nullptr) return errc::unknown_connection;
  if (s->state == stream_state::established && !s->tx.empty()) {
    s->state = stream_state::closing;
    s->rx.clear();
    if (s->rcv_acked != s->read_point()) schedule_ack(*s);
    set_deadline(*s, now + opts_.close_linger);
    return {};
  }
  return abort(id);
}

std::error_code session::abort(conn_id id) {
  stream* s = find(id);
  if (s == nullptr) return errc::unknown_connection;
  if (s->state != stream_state::dead) {
    queue_tcp(header_for(*s, tcp_flag::rst));
    unregister_ports(*s);
  }
  erase(*s);
  return {};
}

std::optional<connection_info> session::info(conn_id id) const {
  const stream* s = find(id);
  if (s == nullptr) return std::nullopt;
  return connection_info{s->local_port,     s->remote_port, s->state,     s->bytes_sent,
                         s->bytes_received, s->rx.size(),   s->tx.size(), s->in_flight()};
}

stream& session::create_stream(std::uint16_t local_port, std::uint16_t remote_port,
                               stream_state st) {
  const conn_id id = next_id_++;
  if (next_id_ == 0) next_id_ = 1;
  stream& s = streams_[id];
  s.id = id;
  s.local_port = local_port;
  s.remote_port = remote_port;
  s.state = st;
  by_ports_[port_key(local_port, remote_port)] = id;
  ++stats_.connections_opened;
  return s;
}

void session::end_stream(stream& s, close_reason why, std::string detail, bool send_rst) {
  if (send_rst) queue_tcp(header_for(s, tcp_flag::rst));
  unregister_ports(s);
  if (s.state == stream_state::closing) {
    erase(s);  // the owner already let go
    return;
  }
  s.state = stream_state::dead;
  s.tx.clear();
  clear_deadline(s);
  emit<events::closed>(s.id, why, std::move(detail));
}

void session::unregister_ports(stream& s) {
  if (by_ports_.erase(port_key(s.local_port, s.remote_port)) != 0) {
    on_port_released(s.local_port);
  }
}

void session::erase(stream& s) {
  clear_deadline(s);
  streams_.erase(s.id);  // queued ids referring to it are skipped when reached
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
  std::optional<time_point> t = handshake_deadline_;
  if (!deadlines_.empty() && (!t || deadlines_.begin()->first < *t)) t = deadlines_.begin()->first;
  return t;
}

std::error_code session::on_timer(time_point now) {
  if (failure_) return errc::session_failed;
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
