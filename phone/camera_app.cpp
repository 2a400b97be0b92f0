#include "phone/camera_app.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <asio.hpp>
#include <thread>

#include "camera/camera_service.hpp"
#include "camera/session_hub.hpp"
#include "camera/test_pattern_camera.hpp"

namespace tether::sim {
namespace {

// tether-camera's own service and sessions, on threads of their own: the camera thread
// and an Asio thread for the sessions. Each connection the host opens to the app's
// port becomes a session on one end of a socketpair; the phone relays the other end
// (make_socket_relay_app), so the mux sees an app like any other.
class camera_server {
 public:
  explicit camera_server(const camera_app_options& o)
      : service_(make_camera(o), service_options(o)), hub_(io_, service_) {
    thread_ = std::thread([this] { io_.run(); });
  }
  ~camera_server() {
    // Handlers still queued after the stop are destroyed with io_, which goes last.
    asio::post(io_, [this] {
      hub_.close_all();
      io_.stop();
    });
    thread_.join();
  }
  camera_server(const camera_server&) = delete;
  camera_server& operator=(const camera_server&) = delete;

  // A new session; the other end of it for the relay, or -1.
  int open() {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) return -1;
    asio::post(io_, [this, fd = fds[0]] {
      camera::stream_socket s(io_, asio::generic::stream_protocol(AF_UNIX, 0), fd);
      hub_.start_session(std::move(s), "phone camera session " + std::to_string(++sessions_), {},
                         {});
    });
    return fds[1];
  }

 private:
  static std::unique_ptr<camera::camera_backend> make_camera(const camera_app_options& o) {
    camera::test_pattern_camera::options t;
    t.width = o.width;
    t.height = o.height;
    return std::make_unique<camera::test_pattern_camera>(t);
  }
  static camera::camera_service::options service_options(const camera_app_options& o) {
    camera::camera_service::options so;
    so.max_fps = o.fps;
    return so;
  }

  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
  camera::camera_service service_;
  camera::session_hub hub_;
  unsigned sessions_ = 0;  // I/O thread only
  std::thread thread_;     // last: starts once everything above exists
};

}  // namespace

std::unique_ptr<phone_app> make_camera_app(const camera_app_options& o) {
  auto server = std::make_shared<camera_server>(o);
  return make_socket_relay_app([server] { return server->open(); });
}

}  // namespace tether::sim
