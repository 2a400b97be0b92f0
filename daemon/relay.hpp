#pragma once
// Moves bytes between a client socket (unix or TCP) and an open mux connection, with
// backpressure both ways: the phone's bytes are acknowledged only once the client has
// taken them, and the client is read only when the connection's send buffer has room.
// The relay holds no buffer of its own: it writes to the client straight from the
// session's receive buffer and reads from the client straight into the session's send
// buffer (prepare/commit), one copy per byte each way, through a non-blocking socket.
//
// When the phone resets the connection, every byte it sent before is written to the
// client before the socket closes; when the client closes, the phone gets RST at once.
#include <asio/generic/stream_protocol.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/quiet_timer.hpp"
#include "base/silence_watch.hpp"
#include "daemon/device_registry.hpp"
#include "daemon/limits.hpp"

namespace tether::daemon {

class relay : public device_registry::conn_owner, public std::enable_shared_from_this<relay> {
 public:
  using socket_type = asio::generic::stream_protocol::socket;
  struct totals {
    std::uint64_t to_phone = 0;
    std::uint64_t from_phone = 0;
  };
  // Told once, when the relay ends, with what was moved.
  using ended_fn = std::function<void(const totals&, const std::string& why)>;

  relay(socket_type socket, device_registry& devices, std::uint32_t device_id, usbmux::conn_id conn,
        std::uint16_t port, std::string who, bool phone_closed,
        std::vector<std::byte> first_to_phone = {}, ended_fn ended = {},
        std::size_t chunk = daemon_limits{}.relay_chunk);
  // Before start(): tell `silent(true)` once when the client sent bytes and the phone
  // has not answered for `limit` (an app in the background accepts and says nothing),
  // and `silent(false)` if it answers after that. The relay itself goes on unchanged.
  void watch_answers(asio::io_context& io, std::chrono::milliseconds limit,
                     std::function<void(bool silent)> silent);
  // Before start(): told once, when the phone's first bytes reach the client (a reverse
  // line counts as taken by the app from then on).
  void on_first_from_phone(std::function<void()> f) { first_from_phone_ = std::move(f); }
  // Takes the connection over from whoever opened it and starts moving bytes.
  void start();
  // Ends the relay from tetherd's side (the forward was removed, tetherd stops).
  void close() { finish("closed by tetherd"); }

  void on_conn_event(const usbmux::event& e) override;
  connection_status status() const override;

 private:
  void pump_to_client();
  void pump_to_phone();
  void finish(const std::string& why);
  void sent_to_phone();
  void check_answer();
  usbmux::phone_link* link() const { return link_; }

  socket_type socket_;
  device_registry& devices_;
  std::uint32_t device_id_;
  usbmux::conn_id conn_;
  // The phone, held from start() until the registry says it is gone: a link outlives
  // the on_gone that tells every owner, so the per-chunk path needs no lookup.
  usbmux::phone_link* link_ = nullptr;
  std::uint16_t port_;
  std::string who_;
  bool phone_closed_;
  ended_fn ended_;
  bool done_ = false;
  bool writing_ = false;             // waiting for the client's socket to take more
  bool reading_ = false;             // waiting for the client's socket to have more
  std::vector<std::byte> to_phone_;  // sent with the Connect request, not yet taken by the mux
  std::size_t chunk_;                // the most one read or write moves
  totals totals_;
  std::chrono::steady_clock::time_point since_ = std::chrono::steady_clock::now();
  // With watch_answers(): the wait for the phone's answer and its timer.
  std::optional<base::silence_watch> answers_;
  std::unique_ptr<base::quiet_timer> answer_timer_;
  std::function<void(bool)> silent_;
  std::function<void()> first_from_phone_;
};

}  // namespace tether::daemon
