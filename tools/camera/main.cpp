// tether-camera: the camera service. One thread owns the camera
// (camera_service); the main thread runs Asio for phones (through tetherd) and local
// controllers (a unix socket), and the two meet only in queues and mailboxes.
#include <asio.hpp>
#include <csignal>
#include <memory>

#include "base/log.hpp"
#include "camera/camera_service.hpp"
#include "camera/gphoto_camera.hpp"
#include "camera/session_hub.hpp"
#include "camera/test_pattern_camera.hpp"
#include "tools/camera/local_listener.hpp"
#include "tools/camera/mux_connection.hpp"
#include "tools/camera/options.hpp"
#include "tools/camera/phone_watcher.hpp"

int main(int argc, char** argv) {
  using namespace tether::camera;
  tether::log::set_program("tether-camera");
  int exit_code = 0;
  const auto o = parse_options(argc, argv, exit_code);
  if (!o) return exit_code;
  if (o->verbose) tether::log::set_level(tether::log::level::debug);
  std::signal(SIGPIPE, SIG_IGN);

  std::unique_ptr<camera_backend> backend;
  if (o->backend == "test-pattern") {
    test_pattern_camera::options t;
    t.width = o->width;
    t.height = o->height;
    backend = std::make_unique<test_pattern_camera>(t);
  } else {
    backend = std::make_unique<gphoto_camera>();
  }
  tether::log::info("camera: " + backend->model());
  // The I/O context outlives the service: the camera thread posts to it until the
  // service's destructor has joined that thread.
  asio::io_context io;
  camera_service::options so;
  so.max_fps = o->max_fps;
  so.release_when_idle =
      std::chrono::milliseconds(static_cast<std::int64_t>(o->release_after * 1000));
  camera_service service(std::move(backend), so);

  try {
    session_hub hub(io, service);
    std::unique_ptr<local_listener> local;
    if (!o->local_socket.empty())
      local = std::make_unique<local_listener>(hub, o->local_socket, o->group);
    std::unique_ptr<phone_watcher> phones;
    if (o->phones) {
      phones = std::make_unique<phone_watcher>(hub, daemon_address(o->usbmuxd), o->phone_port);
      phones->start();
    }
    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](std::error_code ec, int) {
      if (ec) return;
      tether::log::info("stopping");
      phones.reset();
      local.reset();
      hub.close_all();
      io.stop();
    });
    io.run();
  } catch (const std::exception& e) {
    tether::log::error(e.what());
    return 1;
  }
  return 0;
}
