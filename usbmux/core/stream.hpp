#pragma once
// One mux connection's state: TCP-like sequence bookkeeping without retransmission.
// Sequence numbers are u32 and wrap; all comparisons use modular differences.
#include <chrono>
#include <cstdint>
#include <optional>

#include "usbmux/core/byte_fifo.hpp"
#include "usbmux/core/event.hpp"

namespace tether::usbmux {

using time_point = std::chrono::steady_clock::time_point;

enum class stream_state : std::uint8_t {
  syn_sent,     // host: SYN out, waiting for SYN|ACK
  established,  // data both ways
  closing,      // the owner closed it; queued bytes are flushed, then RST
  dead,         // ended (reset, refused, ...); unread bytes stay for the owner
};

struct stream {
  conn_id id = 0;
  std::uint16_t local_port = 0;
  std::uint16_t remote_port = 0;
  stream_state state = stream_state::syn_sent;

  // Send side.
  std::uint32_t snd_nxt = 0;  // seq of our next byte
  std::uint32_t snd_una = 0;  // peer's highest ack: what it has delivered
  std::uint32_t snd_wnd = 0;  // peer's window in bytes, counted from snd_una
  byte_fifo tx;               // accepted by send(), not yet packed

  // Receive side. The ack we advertise is the owner's read point, rcv_nxt - rx.size():
  // acknowledging only delivered bytes is what stops a phone whose reader stalls.
  std::uint32_t rcv_nxt = 0;    // peer seq we expect next
  std::uint32_t rcv_acked = 0;  // last ack value sent; the peer may send up to it + window
  byte_fifo rx;

  // Scheduling flags: each one says the id is already in the matching queue or
  // that its edge-triggered event has fired.
  bool in_send_queue = false;
  bool in_ack_queue = false;
  bool want_writable = false;
  bool readable_signalled = false;
  bool ack_forced = false;  // an ACK is due even if the ack number is unchanged (handshake)

  std::optional<time_point> deadline;  // connect timeout, delayed ACK, or close linger

  std::uint64_t bytes_sent = 0;
  std::uint64_t bytes_received = 0;

  void* user_data = nullptr;  // the owner's handle (session::set_user_data)

  std::uint32_t read_point() const { return rcv_nxt - static_cast<std::uint32_t>(rx.size()); }
  std::uint32_t in_flight() const { return snd_nxt - snd_una; }
  std::uint32_t window_left() const {
    const std::uint32_t used = in_flight();
    return used >= snd_wnd ? 0 : snd_wnd - used;
  }
  bool ack_owed() const { return ack_forced || rcv_acked != read_point(); }
  bool open_for_data() const {
    return state == stream_state::established || state == stream_state::closing;
  }
};

}  // namespace tether::usbmux
