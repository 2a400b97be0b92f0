#pragma once
// The viewer's connection to the camera (tether-camera's local socket, or with --phone
// the app on a phone's port, through the daemon), driven by the viewer's io_context: the
// one thread that also runs the HTTP server, so nothing here blocks or locks. It says
// hello, starts live view and hands every frame and event on; the page's requests (get
// or set a property, focus, capture) run one at a time on the same connection while the
// frames keep coming. If the connection breaks it tries again every second, and requests
// meanwhile get no connection.
//
// Every wait has a bound and ends in the words `tether cam` uses (cam_words): hello
// within cam_client::hello_wait, silence of at most cam_client::silence_wait while an
// answer is due, the daemon's answers within phone_dialer::daemon_wait, and stop()'s grace.
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "proto/camera/messages.hpp"
#include "proto/peertalk/frame.hpp"
#include "tools/cli/cam_client.hpp"
#include "tools/cli/mux_async.hpp"
#include "viewer/live_frame.hpp"

namespace tether::cli {

class viewer_camera {
 public:
  using live_frame = viewer::live_frame;
  struct callbacks {
    std::function<void(live_frame)> frame;
    std::function<void(bool connected, const std::string& text)> status;
    std::function<void()> properties_changed;  // a property_changed event (anyone's set)
  };
  // Why a request got no reply: `connected` false when there was no connection to send it
  // on, true when the camera refused it or the connection broke while it waited.
  struct failure {
    bool connected = false;
    std::string text;
  };
  // Exactly one of the two is set.
  using answer = std::function<void(const proto::camera::message* reply, const failure* why)>;
  using captured = std::function<void(const saved_capture* file, const failure* why)>;

  // Resolves where the camera is (throws cli_error for a bad socket path or daemon
  // address); connects in start().
  viewer_camera(asio::io_context& io, cam_options where, callbacks cb);
  ~viewer_camera();
  viewer_camera(const viewer_camera&) = delete;
  viewer_camera& operator=(const viewer_camera&) = delete;

  // Connects. `first` is told once how the first connection went (null: hello said, live
  // view starting); after a failed first connection nothing more is tried, so the user
  // hears at once that the camera cannot be reached.
  void start(std::function<void(const cli_error* failed)> first);
  const std::string& camera_name() const { return camera_name_; }

  void request(proto::camera::message m, answer done);
  // Capture, wait for capture_done, download the file into `dir`.
  void capture(std::filesystem::path dir, captured done);
  // Stops live view and ends the connection, then calls `done`. Requests not answered yet
  // fail; a camera that does not answer stop_live_view gets `grace`, so Ctrl-C never
  // waits on the camera.
  void stop(std::function<void()> done,
            std::chrono::milliseconds grace = std::chrono::milliseconds(500));

 private:
  enum class state { waiting, connecting, hello, open, ending, stopped };
  struct job {
    proto::camera::message request;
    answer done;  // a plain request
    // a capture: the folder, then the steps after the capture's reply
    captured capture_done;
    std::filesystem::path dir;
    enum class step { reply, capture_done, download } at = step::reply;
    std::optional<capture_file> file;
    std::uint32_t tag = 0;
  };

  void connect();
  void opened();
  void read();
  void received(proto::camera::message&& m, std::uint32_t tag);
  void pass_on(proto::camera::message&& m);
  bool job_reply(proto::camera::message& m, std::uint32_t tag);
  void next_job();
  void finish_job(const proto::camera::message* reply, const saved_capture* file,
                  const failure* why);
  void send(const proto::camera::message& m, std::uint32_t tag);
  void write_next();
  void arm_due(std::chrono::milliseconds limit, bool hello);
  void disarm_due();
  void live_view_started(const proto::camera::message* reply, const failure* why);
  // The connection broke: find the words (for a phone port: unplugged, app closed or
  // daemon gone), then lost().
  void broke();
  void check_phone(std::chrono::steady_clock::time_point give_up);
  void lost(const cli_error& e);
  void close_socket();
  void finish_stop();

  asio::io_context& io_;
  cam_options where_;
  callbacks cb_;
  std::string peer_ = "tether-camera";  // in errors
  std::optional<phone_dialer> dialer_;  // --phone
  std::function<void(const cli_error*)> first_;
  std::string camera_name_;

  state state_ = state::waiting;
  std::uint64_t generation_ = 0;  // of the connection: handlers of an older one do nothing
  std::optional<stream_socket> socket_;
  proto::peertalk::frame_reader reader_{proto::peertalk::default_max_payload};
  std::vector<std::byte> in_ = std::vector<std::byte>(65536);
  std::deque<std::shared_ptr<const std::vector<std::byte>>> out_;  // requests, acks: small
  bool writing_ = false;
  std::uint32_t tag_ = 0;
  bool live_ = false;
  std::deque<job> jobs_;  // front: the one running when running_
  bool running_ = false;

  asio::steady_timer due_;    // hello, or silence while an answer is due
  std::uint64_t due_id_ = 0;  // a newer arm or disarm voids an older expiry
  asio::steady_timer retry_;  // a second between connections; a phone's recheck
  asio::steady_timer grace_;  // stop()
  std::function<void()> stopped_;
  std::uint32_t stop_tag_ = 0;
};

}  // namespace tether::cli
