#pragma once
// A blocking client of tether's camera protocol (proto/camera/PROTOCOL.md) over
// tether-camera's local unix socket, or over a phone port whose app plays the camera:
// hello both ways, then requests that wait for their reply while events and live-view
// frames are handed to a callback.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <string>

#include "proto/camera/messages.hpp"
#include "proto/peertalk/frame.hpp"
#include "tools/cli/cli_error.hpp"
#include "tools/cli/commands.hpp"

namespace tether::cli {

class cam_client {
 public:
  // Connects to wherever `o` points, tether-camera's local socket or the phone port
  // (--phone), and exchanges hello; throws cli_error with the reason. One constructor,
  // so no caller can forget --phone.
  explicit cam_client(const cam_options& o);
  ~cam_client();
  cam_client(const cam_client&) = delete;
  cam_client& operator=(const cam_client&) = delete;

  // Frames that are not what a call waits for, handed over (a live-view frame's JPEG can
  // be moved on rather than copied).
  using on_other = std::function<void(proto::camera::message&&, std::uint32_t tag)>;
  // Sends a request and returns its reply (an `error` reply is thrown as cli_error);
  // frames that are not the reply go to `other`.
  proto::camera::message request(const proto::camera::message& m, const on_other& other = {});
  // Sends without waiting (a download's chunks come with the returned tag).
  std::uint32_t send_request(const proto::camera::message& m);
  // Sends a message that gets no reply (live_view_ack), with tag 0.
  void notify(const proto::camera::message& m) { send(m, proto::peertalk::no_tag); }
  // Every wait on the camera has a bound: hello within hello_wait, then silence of at
  // most silence_wait while an answer, a frame or a chunk is due (a DSLR capture or
  // autofocus takes seconds, not half a minute). Past it, cli_error says what was
  // awaited and what to check.
  static constexpr std::chrono::seconds hello_wait{5};
  static constexpr std::chrono::seconds silence_wait{30};
  // The next frame from the camera (events, live view, download chunks).
  std::pair<proto::camera::message, std::uint32_t> next();
  const std::string& camera_name() const { return camera_name_; }
  // Who answers, for messages: "tether-camera" or "the app on port N".
  const std::string& peer() const { return peer_; }
  bool is_app() const { return peer_ != "tether-camera"; }
  // Set from a signal handler: a wait in progress ends with cli_error(interrupted).
  static void interrupt_waits();

 private:
  void send(const proto::camera::message& m, std::uint32_t tag);
  // The connection broke (a read or a write): says whether the phone went away, the app
  // closed it, or the daemon is gone.
  [[noreturn]] void connection_ended();
  void say_hello();
  std::optional<std::pair<proto::camera::message, std::uint32_t>> take_buffered();
  bool readable(std::chrono::milliseconds limit);  // false: nothing came within `limit`
  // One read into the frame reader; false when the bytes cannot be framed (a closed
  // connection throws).
  bool receive();
  // receive() after at most `limit` of silence, or cli_error saying what was due.
  void receive_within(std::chrono::milliseconds limit);
  int fd_ = -1;
  std::string peer_ = "tether-camera";  // in errors
  // With --phone: the daemon and the phone, to tell an unplug from an app that closed.
  std::string daemon_, udid_;
  std::uint32_t tag_ = 0;
  std::string camera_name_;
  proto::peertalk::frame_reader reader_ =
      proto::peertalk::frame_reader(proto::peertalk::default_max_payload);
};

// What went wrong on a camera connection, in the words every client of it uses (this
// blocking client and the viewer's asynchronous one). `peer` is "tether-camera" or "the
// app on port N"; `app` says which.
namespace cam_words {
cli_error cannot_reach(const std::string& socket_path, const std::string& why);
cli_error no_hello(const std::string& peer, bool app);  // nothing within hello_wait
cli_error not_camera_protocol(const std::string& peer, bool app, const std::string& why);
// The camera's name from its hello; throws cli_error when the first frame is another
// message or a controller's hello (an echo service).
std::string camera_name(const proto::camera::message& first, const std::string& peer, bool app);
cli_error unreadable_frame(const std::string& peer, const std::string& why);   // decode failed
cli_error unreadable_stream(const std::string& peer, const std::string& why);  // framing failed
cli_error silent(const std::string& peer, std::chrono::milliseconds limit);
cli_error refused(const proto::camera::messages::error& e);  // an error reply
cli_error closed(const std::string& peer);                   // tether-camera's socket closed
// A phone port that closed: `attached` says whether the daemon still lists the phone
// (nothing: the daemon is gone too); still attached means the app closed it.
cli_error phone_ended(const std::string& peer, const std::string& daemon, const std::string& udid,
                      std::optional<bool> attached);
}  // namespace cam_words

// A capture downloaded into a folder, under the camera's own file name.
struct saved_capture {
  std::filesystem::path path;
  std::string file_name, mime_type;
  std::uint64_t size = 0;
};
// Capture, wait for capture_done, download it in chunks to `dir`. Frames that are not
// part of it go to `other`; `progress` is told the bytes so far of the total after
// each chunk.
saved_capture capture_to(
    cam_client& cl, const std::filesystem::path& dir, const cam_client::on_other& other = {},
    const std::function<void(const saved_capture& so_far, std::uint64_t total)>& progress = {});

// The file a download fills: checks the camera's file name, makes the folder, and takes
// the download's replies one by one (an error reply or a chunk out of order throws
// cli_error). Shared by capture_to and the viewer's asynchronous capture.
class capture_file {
 public:
  capture_file(const std::filesystem::path& dir, const proto::camera::messages::capture_done& done);
  void take(const proto::camera::message& reply);
  bool complete() const { return out_.size >= total_; }
  const saved_capture& so_far() const { return out_; }
  saved_capture finish();  // flushed and closed; throws if the disk refused

 private:
  saved_capture out_;
  std::uint64_t total_ = 0;
  std::ofstream file_;
};

}  // namespace tether::cli
