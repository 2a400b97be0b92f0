#pragma once
// One controller (the phone app, or a local program on the unix socket) speaking the
// camera protocol on a stream socket. It lives on the I/O thread; the camera thread
// reaches it only through posted handlers.
//
// Writing: replies and events wait in an outbox; live view never queues. A frame is taken from the
// session's one-slot mailbox only when the socket is ready for it (and, when the controller
// acknowledges frames, when fewer than MaxInFlight are unacknowledged), so what goes out is always
// the newest frame. Queued control frames and live-view frames alternate, so neither a stream of
// frames nor a long download holds the other back.
//
// Every queue toward the controller is bounded (constants in controller_session.cpp).
// A controller that stops reading gets backpressure: its requests are not read while
// its answers wait unwritten, or its commands wait for the camera, or it has downloads
// queued; reading resumes once they drain. Only events (tag 0), which it did not ask
// for and cannot be held back, can outgrow that: past a hard bound it is disconnected.
#include <asio.hpp>
#include <deque>
#include <functional>
#include <memory>
#include <string>

#include "base/silence_watch.hpp"
#include "camera/camera_service.hpp"
#include "camera/live_view_meter.hpp"
#include "camera/outbox.hpp"
#include "camera/stream_socket.hpp"
#include "proto/camera/messages.hpp"
#include "proto/peertalk/frame.hpp"

namespace tether::camera {

class session_hub;

class controller_session : public std::enable_shared_from_this<controller_session> {
 public:
  controller_session(session_hub& hub, stream_socket s, std::string name,
                     std::function<void()> on_closed);
  void start(std::vector<std::byte> first_bytes);
  // Queues a control frame (reply or event).
  void send(const proto::camera::message& m, std::uint32_t tag);
  // `warn`: the controller misbehaved, which the log says louder.
  void close(const std::string& why, bool warn = false);
  const std::string& name() const { return name_; }
  // Whether the controller sent anything yet: a phone app in the background accepts
  // the connection and then says nothing, not even its hello (PROTOCOL.md §1.1).
  bool heard_from() const { return heard_from_; }
  // Ends the session as close() does, for a caller that logs the reason itself.
  void close_unlogged();
  // Who the peer is, for the log (default "the controller"): "the app on port 2350".
  void set_peer_words(std::string words) { peer_ = std::move(words); }

 private:
  void read();
  void feed(std::span<const std::byte> bytes);
  void handle_frames();  // the frames read, while within the bounds; then read more
  bool held_back() const;
  void queue(std::vector<std::byte> frame, std::uint32_t tag);
  void handle(proto::camera::message m, std::uint32_t tag);
  void run(command c, std::uint32_t tag,
           std::function<void(controller_session&, command_outcome&)> on_success);
  void download(const proto::camera::messages::download& d, std::uint32_t tag);
  void start_live_view(std::uint32_t max_in_flight);
  void stop_live_view();
  void acknowledged(std::uint32_t sequence);
  void pump();
  void stats_tick();
  void await_taking();  // output or live view is out: the controller should take it
  void took();          // it did (a write completed, or a frame was acknowledged)
  void check_taking_at(std::chrono::steady_clock::time_point when);
  void close(const std::string& why, bool warn, bool logged);

  session_hub& hub_;
  stream_socket socket_;
  std::string name_;
  std::function<void()> on_closed_;
  bool closed_ = false;
  proto::peertalk::frame_reader reader_;
  std::array<std::byte, 65536> buf_{};
  bool reading_ = false;                // a read is outstanding
  std::size_t commands_in_flight_ = 0;  // submitted to the camera, not answered yet
  std::uint32_t bad_frames_ = 0;        // answered with an error

  outbox control_out_;
  bool writing_ = false;
  bool live_turn_ = false;  // alternate control and live view when both wait
  std::vector<std::byte> out_;
  frame_ptr frame_out_;  // the frame being written, for the meter

  std::shared_ptr<live_view_subscription> live_;
  // With acknowledgements (PROTOCOL.md §6.2): at most max_in_flight_ frames out that the
  // controller has not acked, oldest first; 0 means the socket alone paces live view.
  std::uint32_t max_in_flight_ = 0;
  struct unacked {
    std::uint32_t sequence;
    std::chrono::steady_clock::time_point captured;
  };
  std::deque<unacked> in_flight_;
  live_view_meter meter_;
  asio::steady_timer stats_timer_;

  std::string peer_ = "the controller";
  bool heard_from_ = false;
  // A controller that takes nothing for a while (a suspended app) is said once in the
  // log; its memory stays within the bounds above. The session goes on.
  base::silence_watch taking_;
  asio::steady_timer taking_timer_;
  bool taking_timer_armed_ = false;
};

}  // namespace tether::camera
