#include "tools/camera/options.hpp"

#include <CLI/CLI.hpp>

namespace tether::camera {

std::optional<options> parse_options(int argc, char** argv, int& exit_code) {
  options o;
  CLI::App app{
      "tether-camera: a camera (libgphoto2, or a test pattern) for phone apps on USB and for "
      "local controllers, in tether's camera protocol."};
  app.set_version_flag("--version", "tether-camera " TETHER_VERSION);
  app.add_option("--backend", o.backend,
                 "the camera: gphoto2 (the first camera found) or test-pattern")
      ->check(CLI::IsMember({"gphoto2", "test-pattern"}))
      ->capture_default_str();
  std::string size;
  app.add_option("--size", size, "test pattern live-view size, WIDTHxHEIGHT (default 1920x1080)");
  app.add_option("--fps", o.max_fps, "live-view frame rate cap (0: as fast as the camera goes)")
      ->check(CLI::Range(0.0, 240.0))
      ->capture_default_str();
  app.add_option("--release-after", o.release_after,
                 "seconds without a viewer or a command before the camera is let go, so "
                 "gphoto2 or a photo import may use it (0: keep it)")
      ->check(CLI::Range(0.0, 86400.0))
      ->capture_default_str();
  app.add_option("--port", o.phone_port, "the port the app listens on, on the phone")
      ->check(CLI::Range(1, 65535))
      ->capture_default_str();
  app.add_flag("!--no-phones", o.phones, "serve local controllers only; do not watch for phones");
  app.add_option("--usbmuxd", o.usbmuxd,
                 "tetherd's socket: PATH, UNIX:PATH or IP:PORT (default $USBMUXD_SOCKET_ADDRESS, "
                 "else /var/run/usbmuxd)");
  app.add_option("--listen", o.local_socket,
                 "unix socket for local controllers, mode 0660 (empty: none)")
      ->capture_default_str();
  app.add_option("--group", o.group, "group that owns the local socket (may drive the camera)");
  app.add_flag("-v,--verbose", o.verbose, "debug lines: busy retries, live-view rates");
  try {
    app.parse(argc, argv);
    if (!size.empty()) {
      unsigned w = 0, h = 0;
      char x = 0, extra = 0;
      if (std::sscanf(size.c_str(), "%u%c%u%c", &w, &x, &h, &extra) != 3 || x != 'x' || w < 16 ||
          h < 16 || w > 8192 || h > 8192 || w % 2 || h % 2)
        throw CLI::ValidationError("--size", "'" + size +
                                                 "' is not WIDTHxHEIGHT with even sides from "
                                                 "16 to 8192, e.g. 1280x720");
      o.width = w;
      o.height = h;
    }
  } catch (const CLI::ParseError& e) {
    exit_code = app.exit(e);
    if (exit_code != 0) exit_code = 2;
    return std::nullopt;
  }
  return o;
}

}  // namespace tether::camera
