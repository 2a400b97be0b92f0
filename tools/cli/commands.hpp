#pragma once
// The subcommands of `tether`. Each returns the exit status or throws cli_error.
#include <chrono>
#include <cstdint>
#include <string>

namespace tether::cli {

struct global_options {
  // The daemon: --socket, else $USBMUXD_SOCKET_ADDRESS, else /var/run/usbmuxd (main()
  // resolves it before any subcommand runs).
  std::string socket;
  // Neither --socket nor $USBMUXD_SOCKET_ADDRESS: the packaged default, where no socket
  // means tetherd is not running because no phone is attached.
  bool default_socket = false;
  std::string udid;   // --udid
  bool json = false;  // --json where a subcommand prints data
};

int run_list(const global_options& o);
int run_watch(const global_options& o);
int run_connect(const global_options& o, std::uint16_t port, std::chrono::milliseconds linger);
int run_info(const global_options& o);
int run_log_level(const global_options& o, const std::string& level);
// Pairs the phone now and waits (at most `wait`) for the user to answer the Trust dialog.
int run_pair(const global_options& o, std::chrono::seconds wait);

struct forward_args {
  std::string address = "127.0.0.1";
  std::uint16_t local_port = 0;
  std::uint16_t phone_port = 0;
  std::string name;
  bool any_phone = false;  // --any-phone: no --udid on purpose, even with several attached
};
int run_forward_add(const global_options& o, const forward_args& f);
int run_forward_list(const global_options& o);
int run_forward_remove(const global_options& o, const std::string& name);
// Like iproxy: this process listens and relays until interrupted; works with any daemon.
int run_forward_foreground(const global_options& o, const forward_args& f);

struct reverse_args {
  std::uint16_t phone_port = 0;
  std::string address = "127.0.0.1";  // the board's service
  std::uint16_t local_port = 0;
  std::string name;
  std::uint32_t spares = 2;
};
int run_reverse_add(const global_options& o, const reverse_args& r);
int run_reverse_list(const global_options& o);
int run_reverse_remove(const global_options& o, const std::string& name);

// tether cam: tether-camera's local socket, in the camera protocol.
struct cam_options {
  std::string socket = "/run/tether/camera.sock";  // --camera
  // --phone PORT: the camera is an app on the phone (the mirror case: the phone films,
  // this board controls), reached through the daemon like `tether connect`.
  std::uint16_t phone_port = 0;
  global_options daemon;  // --socket and --udid, for --phone
  std::string name;       // a property
};
int run_cam_props(const cam_options& c);
int run_cam_set(const cam_options& c, const std::string& value);
int run_cam_focus(const cam_options& c, const std::string& how, const std::string& size);
int run_cam_capture(const cam_options& c, const std::string& out_dir);
int run_cam_liveview(const cam_options& c, const std::string& out_dir, unsigned frames,
                     const std::string& mjpeg);
struct view_options {
  std::string listen = "127.0.0.1:8080";  // --listen ADDRESS:PORT (port 0: any free one)
  bool allow_remote = false;              // --allow-remote: a non-loopback address
  std::string out_dir = ".";              // --out: captures
};
// Serves live view (MJPEG) and the main controls to browsers until SIGINT or SIGTERM.
int run_cam_view(const cam_options& c, const view_options& v);

// tether chat: a group chat room (proto/chat) on a TCP port, until SIGINT or SIGTERM.
struct chat_options {
  std::string address = "127.0.0.1";  // --address
  std::uint16_t port = 12345;         // --port (0: any free one, logged)
  bool allow_remote = false;          // --allow-remote: a non-loopback address
};
int run_chat(const chat_options& c);

}  // namespace tether::cli
