#pragma once
// tether-camera's command line.
#include <cstdint>
#include <optional>
#include <string>

namespace tether::camera {

struct options {
  std::string backend = "gphoto2";  // or "test-pattern"
  std::uint32_t width = 1920;       // test pattern live view
  std::uint32_t height = 1080;
  double max_fps = 30;
  double release_after = 10;        // seconds unused before the camera is let go; 0: keep it
  std::uint16_t phone_port = 2350;  // the app's port on the phone
  bool phones = true;               // false: local controllers only
  std::string usbmuxd;              // empty: $USBMUXD_SOCKET_ADDRESS or /var/run/usbmuxd
  std::string local_socket = "/run/tether/camera.sock";  // empty: none
  std::string group;
  bool verbose = false;
};

// The options, or nullopt after printing help, the version or a usage error (then
// `exit_code` says which).
std::optional<options> parse_options(int argc, char** argv, int& exit_code);

}  // namespace tether::camera
