// session, the sending half: packing what is due into the caller's buffer (pull_packet),
// and the owner's side of a connection (send, prepare/commit, consume, close, abort).
// Receiving, time and failure are in session.cpp.
#include "usbmux/core/session.hpp"

#include <algorithm>
#include <array>
#include <cassert>
#include <cstring>

#include "usbmux/core/version_packet.hpp"

namespace tether::usbmux {
namespace {

std::span<const std::byte> as_bytes(const std::string& s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

}  // namespace

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
  stream* s = find(id);
  if (auto ec = refuse_data(s)) return ec;
  const auto room = reserve(*s, bytes.size());
  if (room.empty()) return std::size_t{0};
  std::memcpy(room.data(), bytes.data(), room.size());
  s->tx.commit(room.size());
  queue_committed(*s, room.size());
  return room.size();
}

result<std::span<std::byte>> session::prepare(conn_id id, std::size_t max) {
  stream* s = find(id);
  if (auto ec = refuse_data(s)) return ec;
  return reserve(*s, max);
}

result<std::size_t> session::commit(conn_id id, std::size_t n) {
  stream* s = find(id);
  if (s == nullptr) return errc::unknown_connection;
  if (s->state != stream_state::established) return errc::connection_closed;
  if (!s->tx.commit(n)) return std::make_error_code(std::errc::invalid_argument);
  queue_committed(*s, n);
  return n;
}

std::error_code session::refuse_data(const stream* s) {
  if (s == nullptr) return errc::unknown_connection;
  if (s->state == stream_state::syn_sent) return errc::not_ready;
  if (s->state != stream_state::established) return errc::connection_closed;
  return {};
}

// Room in the send buffer for up to `max` bytes; short room arms one `writable`.
std::span<std::byte> session::reserve(stream& s, std::size_t max) {
  const std::size_t space =
      opts_.send_buffer - std::min<std::size_t>(s.tx.size(), opts_.send_buffer);
  if (space < max) s.want_writable = true;
  return s.tx.prepare(std::min(space, max));
}

void session::queue_committed(stream& s, std::size_t n) {
  if (n != 0 && s.window_left() > 0) schedule_send(s);
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

}  // namespace tether::usbmux
