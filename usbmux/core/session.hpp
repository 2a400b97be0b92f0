#pragma once
// The sans-I/O core shared by both ends of a usbmux link. It never touches a socket,
// a clock, a thread or libusb: the owner feeds it received bytes and the time, pulls
// packets to send, and drains events. host_session and device_session add the role:
// who offers VERSION, who opens connections.
//
// Typical owner loop (one per phone):
//   session.receive(bytes_from_bulk_in);       // any chunking
//   while (auto e = session.poll_event()) ...   // connected / readable / closed ...
//   while (auto n = session.pull_packet(buf))   // one packet per bulk OUT transfer
//     submit(buf.first(n));
//   arm a timer for session.next_deadline(); call on_timer(now) when it fires.
//
// Packets are built when pulled, not when queued, so an ACK always carries the
// newest acknowledgement and consecutive consume() calls coalesce into one ACK.
// There is no delayed-ACK timer that a busy loop could starve.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <system_error>
#include <unordered_map>
#include <utility>

#include "usbmux/core/event.hpp"
#include "usbmux/core/mux_header.hpp"
#include "usbmux/core/options.hpp"
#include "usbmux/core/packet_framer.hpp"
#include "usbmux/core/result.hpp"
#include "usbmux/core/stream.hpp"
#include "usbmux/core/tcp_header.hpp"

namespace tether::usbmux {

// The smallest buffer pull_packet() accepts: room for any control packet.
inline constexpr std::size_t min_packet_buffer = 256;

struct session_stats {
  std::uint64_t packets_received = 0;
  std::uint64_t packets_sent = 0;
  std::uint64_t payload_bytes_received = 0;  // stream bytes, headers excluded
  std::uint64_t payload_bytes_sent = 0;
  std::uint64_t connections_opened = 0;
  std::uint64_t anonymous_resets_sent = 0;     // replies to packets for unknown connections
  std::uint64_t replies_dropped = 0;           // owed replies dropped by the flood bound
  std::uint64_t packets_before_handshake = 0;  // TCP packets before VERSION completed (dropped)
  std::uint64_t packets_ignored = 0;           // stray VERSION/SETUP, RST for unknown connections
  std::uint64_t control_messages_dropped = 0;
  std::uint64_t session_restarts = 0;  // VERSION from the phone inside a live session
};

struct connection_info {
  std::uint16_t local_port;
  std::uint16_t remote_port;
  stream_state state;
  std::uint64_t bytes_sent;
  std::uint64_t bytes_received;
  std::size_t unread;       // received, waiting for consume()
  std::size_t unsent;       // accepted by send(), not yet packed
  std::uint32_t in_flight;  // sent, not yet acknowledged by the peer
};

class session {
 public:
  virtual ~session() = default;
  session(const session&) = delete;
  session& operator=(const session&) = delete;

  // --- I/O side -------------------------------------------------------------------
  // Bytes from the peer, in any chunking. A returned error is fatal (see is_fatal):
  // the session has failed and every connection got a `closed` event.
  std::error_code receive(std::span<const std::byte> bytes);

  // Writes the next packet to send into `out` (at least min_packet_buffer bytes; a
  // data packet is cut to fit) and returns its length, or 0 when nothing is due.
  // Send each packet as its own USB transfer.
  std::size_t pull_packet(std::span<std::byte> out);

  // True when pull_packet() may have something (it can still return 0).
  bool want_write() const;

  // Earliest time on_timer() has work to do, if any.
  std::optional<time_point> next_deadline() const;
  std::error_code on_timer(time_point now);

  std::optional<event> poll_event();

  // --- connections ----------------------------------------------------------------
  // Queues bytes for the peer; returns how many were taken (bounded by the send
  // buffer). A short count arms one `writable` event.
  result<std::size_t> send(conn_id id, std::span<const std::byte> bytes);
  // send() without the copy (Boost.Beast's dynamic-buffer idiom): prepare() lends up
  // to `max` bytes of the send buffer's free room, the owner fills a prefix of it (a
  // socket read straight into it) and commit() queues that prefix. Any other call that
  // changes this connection's send buffer (send, pull_packet, close) takes the room
  // back. Room short of `max` arms one `writable` event, as a short send() does.
  result<std::span<std::byte>> prepare(conn_id id, std::size_t max);
  // Queues the first n bytes of the room prepare() lent, and returns n. More than that
  // room is refused (std::errc::invalid_argument) and nothing is queued; so is a
  // commit on a connection that has ended since (connection_closed). Either way the
  // room is gone: the next commit needs a new prepare().
  result<std::size_t> commit(conn_id id, std::size_t n);
  std::size_t send_space(conn_id id) const;
  // Asks for one `writable` event when send space frees (a short send() asks too).
  // For owners that send no more than send_space() and so never send short.
  void notify_writable(conn_id id);

  // Received bytes not yet consumed; valid until the next call on this session.
  std::span<const std::byte> received(conn_id id) const;
  // Marks n received bytes as delivered: they are acknowledged, which lets the peer
  // send more. Until then the peer is held back by the window.
  void consume(conn_id id, std::size_t n);
  // The same, but a small acknowledgement may wait up to ack_delay for data to ride
  // on (next_deadline() covers it).
  void consume(conn_id id, std::size_t n, time_point now);

  // Ends a connection from this side. Bytes already sent are flushed (for at most
  // close_linger), then RST goes out. After close() the id is gone: no more events.
  // Call it for every id, including ones that reported `closed`, to free them.
  std::error_code close(conn_id id, time_point now);
  // Like close(), but RST goes out at once and queued bytes are dropped.
  std::error_code abort(conn_id id);

  std::optional<connection_info> info(conn_id id) const;
  std::size_t connection_count() const { return streams_.size(); }

  // The owner's handle for a connection (nghttp2's stream user data): an event's id
  // leads straight to whoever handles it, with no table of the owner's own. Null until
  // set, and once the id is gone.
  void set_user_data(conn_id id, void* p) {
    if (stream* s = find(id)) s->user_data = p;
  }
  void* user_data(conn_id id) const {
    const stream* s = find(id);
    return s ? s->user_data : nullptr;
  }

  // --- session state --------------------------------------------------------------
  bool ready() const { return handshake_done_ && !failure_; }
  bool failed() const { return static_cast<bool>(failure_); }
  std::error_code failure() const { return failure_; }
  // The failure in words, with the offending value where there is one ("mux packet
  // length 70000 exceeds the maximum 65536"); empty while the session is healthy.
  std::string failure_text() const;
  header_format format() const { return format_; }
  const session_stats& stats() const { return stats_; }
  const session_options& options() const { return opts_; }

 protected:
  // What goes into the rx_seq field of outgoing v2 headers. Implementations differ
  // and phones do not check it; we follow the longest-deployed behaviour per role.
  enum class rx_seq_policy : std::uint8_t { echo_peer_rx_field, echo_peer_tx_seq };

  session(const session_options& opts, rx_seq_policy policy);

  // Role hooks. Each receives the packet payload, mux header stripped.
  virtual std::error_code on_version(std::span<const std::byte> payload) = 0;
  virtual void on_setup(std::span<const std::byte> payload) = 0;
  // A TCP packet that matches no connection of ours.
  virtual void on_unmatched_tcp(const tcp_header& th, std::span<const std::byte> data) = 0;
  // A connection stopped using its local port.
  virtual void on_port_released(std::uint16_t /*local_port*/) {}

  // For the roles.
  stream& create_stream(std::uint16_t local_port, std::uint16_t remote_port, stream_state st);
  void queue_version(std::uint32_t major, std::uint32_t minor);
  void queue_setup();
  void queue_tcp(const tcp_header& th, std::string payload = {});
  // Owed to a misbehaving peer: bounded, dropped (and counted) beyond the limit.
  void queue_reply(const tcp_header& th, std::string payload = {});
  void queue_anonymous_rst(const tcp_header& offending);
  tcp_header header_for(const stream& s, std::uint8_t flags) const;
  template <class E, class... Args>
  void emit(Args&&... args) {
    events_.emplace_back(std::in_place_type<E>, E{std::forward<Args>(args)...});
  }
  void set_deadline(stream& s, time_point t);
  void finish_handshake(header_format f, std::uint32_t peer_major, std::uint32_t peer_minor);
  void fail(std::error_code ec, std::string detail = {});
  // Starts the session over without failing it: every connection ends (`closed`,
  // session_ended, with `why`), queued packets go, headers are v1 again and the
  // handshake is not done. The next on_timer() anchors handshake_timeout from its
  // `now` (next_deadline() asks for it at once): receive() has no clock.
  void restart(const std::string& why);
  // Returns `ec` and keeps `detail` for failure_text(): a fatal error found while
  // reading a packet, said with its values.
  std::error_code fatal(std::error_code ec, std::string detail) {
    if (pending_detail_.empty()) pending_detail_ = std::move(detail);
    return ec;
  }

  session_options opts_;
  session_stats stats_;
  header_format format_ = header_format::v1;
  bool handshake_done_ = false;
  std::optional<time_point> handshake_deadline_;
  bool anchor_handshake_deadline_ = false;  // set by restart(), done by the next on_timer()

 private:
  struct queued_packet {
    protocol proto;
    tcp_header tcp;       // for protocol::tcp
    std::string payload;  // VERSION/SETUP body, or RST reason text
  };

  std::error_code on_packet(std::span<const std::byte> packet);
  std::error_code on_tcp(std::span<const std::byte> payload);
  void on_control(std::span<const std::byte> payload);
  void on_stream_packet(stream& s, const tcp_header& th, std::span<const std::byte> data);
  void on_syn_reply(stream& s, const tcp_header& th, std::span<const std::byte> data);

  // Ends a connection because of the peer or a timeout; emits `closed` unless the
  // owner already let go of it. With send_rst the peer is told too.
  void end_stream(stream& s, close_reason why, std::string detail, bool send_rst);
  void unregister_ports(stream& s);
  void erase(stream& s);
  void clear_deadline(stream& s);
  stream* take_delivered(conn_id id, std::size_t n);
  // send(), prepare() and commit() share these, so send() looks its stream up once.
  static std::error_code refuse_data(const stream* s);
  std::span<std::byte> reserve(stream& s, std::size_t max);
  void queue_committed(stream& s, std::size_t n);
  void schedule_send(stream& s);
  void schedule_ack(stream& s);

  static std::size_t sendable(const stream& s, std::size_t room);
  // One packet for `s`: as much queued data as window and room allow, or a pure ACK.
  std::size_t write_data(std::span<std::byte> out, stream& s, std::size_t room);
  std::size_t write_queued(std::span<std::byte> out, std::deque<queued_packet>& q);
  std::size_t write_stream_packet(std::span<std::byte> out, stream& s, std::size_t payload);
  std::size_t write_packet(std::span<std::byte> out, protocol proto, header_format f,
                           std::span<const std::byte> a, std::span<const std::byte> b = {});
  std::uint16_t rx_seq_to_send() const;

  stream* find(conn_id id);
  const stream* find(conn_id id) const;
  stream* find_by_ports(std::uint16_t local, std::uint16_t remote);
  static std::uint32_t port_key(std::uint16_t local, std::uint16_t remote) {
    return (std::uint32_t{local} << 16) | remote;
  }

  rx_seq_policy rx_policy_;
  packet_framer framer_;
  std::error_code failure_;
  std::string failure_detail_;
  std::string pending_detail_;  // from fatal(), until receive() fails the session

  std::unordered_map<conn_id, stream> streams_;
  std::unordered_map<std::uint32_t, conn_id> by_ports_;  // live connections only
  conn_id next_id_ = 1;

  std::deque<queued_packet> control_;  // our own handshake, SYN, SYN|ACK and RST packets
  std::deque<queued_packet> replies_;  // owed to the peer's mistakes; bounded
  std::deque<conn_id> ack_queue_;
  std::deque<conn_id> send_queue_;  // round robin among connections with data and window
  std::deque<event> events_;
  std::size_t queued_control_messages_ = 0;
  std::set<std::pair<time_point, conn_id>> deadlines_;

  // Mux sequence numbers (v2 headers only).
  std::uint16_t tx_seq_ = 0;
  std::uint16_t peer_tx_seq_ = 0;
  std::uint16_t peer_rx_field_ = 0xFFFF;
};

}  // namespace tether::usbmux
