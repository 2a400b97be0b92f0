#pragma once
// Every controller connected to the camera, phone or local, on the I/O thread: starts
// their sessions, sends events to all of them, and keeps the last few captured files
// for download (by transfer id, as capture_done announced them).
#include <asio.hpp>
#include <deque>
#include <functional>
#include <memory>
#include <set>
#include <string>

#include "camera/camera_service.hpp"
#include "camera/stream_socket.hpp"
#include "proto/camera/messages.hpp"

namespace tether::camera {

class controller_session;

class session_hub {
 public:
  // The last `keep_captures` files stay downloadable (a RAW file is tens of MB).
  session_hub(asio::io_context& io, camera_service& service, std::size_t keep_captures = 4);
  ~session_hub();

  // Starts a session on a connected socket. `first_bytes` arrived before (with the
  // Connect reply); `on_closed` runs on the I/O thread when the session ends.
  // `quiet`: no "connected" line (a caller retrying an app that says nothing logs that).
  std::shared_ptr<controller_session> start_session(stream_socket s, std::string name,
                                                    std::vector<std::byte> first_bytes,
                                                    std::function<void()> on_closed,
                                                    bool quiet = false);
  // Sends an event (tag 0) to every session but `except`.
  void broadcast(const proto::camera::message& m, const controller_session* except = nullptr);
  std::uint32_t keep_capture(captured_file f);  // the transfer id
  std::shared_ptr<const captured_file> find_capture(std::uint32_t transfer_id) const;
  void ended(const std::shared_ptr<controller_session>& s);
  void close_all();

  asio::io_context& io() { return io_; }
  camera_service& service() { return service_; }
  std::size_t sessions() const { return sessions_.size(); }

 private:
  asio::io_context& io_;
  camera_service& service_;
  std::size_t keep_captures_;
  std::set<std::shared_ptr<controller_session>> sessions_;
  std::deque<std::pair<std::uint32_t, std::shared_ptr<const captured_file>>> captures_;
  std::uint32_t next_transfer_ = 1;
};

}  // namespace tether::camera
