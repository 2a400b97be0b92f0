// tether-sim: virtual iPhones for programs that talk to phones over libusb.
//
//   tether-sim [options] -- COMMAND [ARGS...]
//
// runs COMMAND under a umockdev testbed in which the phones are plugged in, the way
// umockdev-run does, so COMMAND's own unmodified libusb sees them. tether-sim exits
// with COMMAND's exit status. While it runs, a control socket plugs and unplugs them.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "base/log.hpp"
#include "pairing/openssl_init.hpp"
#include "phone/app_setup.hpp"
#include "phone/control_commands.hpp"
#include "tools/sim/ptp/camera_pictures.hpp"
#include "tools/sim/ptp/nikon_d750.hpp"
#include "tools/sim/usbdevfs_phone.hpp"
#include "tools/sim/virtual_ptp_camera.hpp"

namespace {

using namespace tether::sim;

const char* const usage_head =
    "usage: tether-sim [options] -- COMMAND [ARGS...]\n"
    "\n"
    "Runs COMMAND with virtual iPhones plugged in (umockdev), exiting with its status.\n"
    "\n"
    "options:\n"
    "  --phones N          how many phones to plug in (default 1)\n"
    "  --speed high|super  the bus profile (default high):\n"
    "                        high   USB 2, 480 Mbit/s: 512-byte bulk packets, one\n"
    "                               half-duplex bus at 40 MB/s (what USB 2 phones carry)\n"
    "                        super  USB 3.2 Gen 2, 10 Gbit/s, as on the Pro iPhones:\n"
    "                               1024-byte packets, a lane each way at 900 MB/s\n"
    "                               (a plausible USB 3 ceiling; usbmux on it is\n"
    "                               unmeasured)\n"
    "  --old-serial        40-hex serials (older phones) instead of 24-hex ones\n"
    "  --configuration N   configuration the phone starts in (default 1, as the kernel picks)\n"
    "  --rate MBPS         bus rate in MB/s shared by all phones (per lane at super\n"
    "                      speed); the profile's rate by default; 0 = no limit\n"
    "  --latency US        extra latency per transfer in microseconds (default 0)\n"
    "  --source-bytes N    bytes the source app on port 2346 streams per connection\n"
    "                      (default 1 GiB)\n"
    "  --control PATH      unix socket taking commands, one per line:\n"
    "                        list | plug N | unplug N | replug N\n"
    "                      and faults:\n"
    "                        stall N in|out   halt an endpoint until the host clears it\n"
    "                        delay N MS       add MS to every bulk completion (0 clears)\n"
    "                        drop N           fail what is in flight (EPROTO), then vanish\n"
    "                        garbage N        send a malformed mux packet\n"
    "                        mute N | unmute N  stop / resume answering VERSION\n"
    "                        reset N          every app resets its connections (RST)\n"
    "                        stale N          data for a connection the host does not have\n"
    "                      and a look inside:\n"
    "                        stats N          what the phone made of the host's transfers\n"
    "                                         (packets, packets_on_boundary: those that\n"
    "                                         needed a ZLP, too_large, mismatched: reads\n"
    "                                         that were not one packet) and its session\n";

// After the shared lock and trust commands.
const char* const usage_control_tail =
    "                      (default: one in the testbed; COMMAND finds it in\n"
    "                      TETHER_SIM_CONTROL)\n"
    "  --trust-after S     every phone accepts the Trust dialog once it has been up S\n"
    "                      seconds (0: pairs with no dialog); as 'trust auto N S'\n";

// After the shared --app text.
const char* const usage_tail =
    "  --record DIR        controller apps keep frames, captures and report.json in\n"
    "                      DIR/UDID/; the camera keeps every picture it takes in\n"
    "                      DIR/camera/\n"
    "  --camera nikon      plug a virtual PTP camera in too: a Nikon D750 (04b0:0437)\n"
    "                      that libgphoto2 drives as the real body; control commands:\n"
    "                        camera plug | camera unplug | camera replug\n"
    "                        camera busy N   the next N captures/settings get DeviceBusy\n"
    "                        camera fps N    live view at N frames a second from now on\n"
    "                        camera status\n"
    "  --camera-fps N      the camera's live-view frame rate (default 30)\n"
    "  -v, --verbose       log every plug, unplug and command\n"
    "  -h, --help          this text\n"
    "\n";

std::string usage() {
  return std::string(usage_head) + trust_command_help + usage_control_tail + app_option_help +
         usage_tail + default_apps_help;
}

bool verbose = false;

// The bus profiles' rates in MB/s. USB 2 phones carry 30-35 MB/s through usbmux in
// practice (the research notes' sources). For USB 3.2 Gen 2 nobody has published a
// usbmux figure: 900 MB/s is what its bulk transfers reach after line coding and
// protocol overhead, so the model never holds back a host that could go faster.
constexpr double high_speed_mbps = 40;
constexpr double super_speed_mbps = 900;

struct options {
  int phones = 1;
  usb_speed speed = usb_speed::high;
  bool old_serial = false;
  int configuration = 1;
  double rate_mbps = -1;  // the speed profile's own rate
  long latency_us = 0;
  std::string control;
  std::string camera;  // "" or "nikon"
  double camera_fps = 30;
  long trust_after = -1;  // seconds; -1: the user answers the dialog
  app_options apps;       // --app, --source-bytes, --record
  std::vector<char*> command;
};

[[noreturn]] void bad_usage(const std::string& why) {
  std::fprintf(stderr, "tether-sim: %s\n\n%s", why.c_str(), usage().c_str());
  std::exit(2);
}

options parse(int argc, char** argv) {
  options o;
  int i = 1;
  auto value = [&](const char* name) -> std::string {
    if (i + 1 >= argc) bad_usage(std::string(name) + " needs a value");
    return argv[++i];
  };
  auto number = [&](const char* name, long lo, long hi) {
    const std::string v = value(name);
    char* end = nullptr;
    const long n = std::strtol(v.c_str(), &end, 10);
    if (end == v.c_str() || *end != '\0' || n < lo || n > hi)
      bad_usage(std::string(name) + " takes a number from " + std::to_string(lo) + " to " +
                std::to_string(hi) + ", not '" + v + "'");
    return n;
  };
  for (; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--") {
      ++i;
      break;
    }
    if (a == "--phones")
      o.phones = static_cast<int>(number("--phones", 1, 100));
    else if (a == "--speed") {
      const std::string v = value("--speed");
      if (v != "high" && v != "super") bad_usage("--speed is 'high' or 'super', not '" + v + "'");
      o.speed = v == "super" ? usb_speed::super : usb_speed::high;
    } else if (a == "--old-serial")
      o.old_serial = true;
    else if (a == "--configuration")
      o.configuration = static_cast<int>(number("--configuration", 0, 4));
    else if (a == "--source-bytes")
      o.apps.source_bytes = static_cast<std::uint64_t>(number("--source-bytes", 0, 1L << 40));
    else if (a == "--control")
      o.control = value("--control");
    else if (a == "--record")
      o.apps.record = value("--record");
    else if (a == "--camera") {
      o.camera = value("--camera");
      if (o.camera != "nikon") bad_usage("--camera knows 'nikon' (a D750), not '" + o.camera + "'");
    } else if (a == "--camera-fps")
      o.camera_fps = static_cast<double>(number("--camera-fps", 1, 1000));
    else if (a == "--app") {
      std::string error;
      if (!parse_app_option(value("--app"), o.apps, error)) bad_usage(error);
    } else if (a == "--rate")
      o.rate_mbps = static_cast<double>(number("--rate", 0, 100000));
    else if (a == "--trust-after")
      o.trust_after = number("--trust-after", 0, 86400);
    else if (a == "--latency")
      o.latency_us = number("--latency", 0, 10'000'000);
    else if (a == "-v" || a == "--verbose")
      verbose = true;
    else if (a == "-h" || a == "--help") {
      std::fputs(usage().c_str(), stdout);
      std::exit(0);
    } else
      bad_usage("unknown option '" + a + "'");
  }
  if (i >= argc) bad_usage("no COMMAND given after --");
  for (; i < argc; ++i) o.command.push_back(argv[i]);
  o.command.push_back(nullptr);
  return o;
}

iphone_identity identity_for(const options& o, int index) {
  iphone_identity id;
  char serial[48];
  if (o.old_serial) {
    std::snprintf(serial, sizeof serial, "%040x", 0x7e7e0000 + index);
  } else {
    std::snprintf(serial, sizeof serial, "00008120%016llX",
                  0x7E7E000000000000ull + static_cast<unsigned>(index));
  }
  id.serial = serial;
  id.speed = o.speed;
  id.bus = 1;
  id.address = static_cast<std::uint8_t>(2 + index);
  id.initial_configuration = static_cast<std::uint8_t>(o.configuration);
  return id;
}

int open_control_socket(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) bad_usage("--control path is too long: " + path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  ::unlink(path.c_str());
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(fd, 8) != 0) {
    tether::log::error("cannot listen on control socket " + path + ": " + std::strerror(errno));
    std::exit(1);
  }
  return fd;
}

// The virtual camera and its place on the bus.
struct camera_slot {
  std::unique_ptr<virtual_ptp_camera> camera;
  std::unique_ptr<usbdevfs_device> device;
};

std::unique_ptr<camera_slot> make_camera(UMockdevTestbed* testbed, usb_bus& bus, const options& o) {
  auto slot = std::make_unique<camera_slot>();
  camera_identity id;
  id.vendor_id = tether::sim::ptp::nikon_vendor_id;
  id.product_id = tether::sim::ptp::d750_product_id;
  id.manufacturer = "NIKON";
  id.product = "NIKON DSC D750";
  id.serial = "000003047512";
  tether::sim::ptp::ptp_responder responder(
      tether::sim::ptp::nikon_d750(o.camera_fps),
      {[](std::uint64_t shot) { return tether::sim::ptp::capture_jpeg(shot); },
       [](std::uint64_t frame) { return tether::sim::ptp::live_view_jpeg(frame); }});
  if (!o.apps.record.empty()) {
    const std::filesystem::path dir = std::filesystem::path(o.apps.record) / "camera";
    std::filesystem::create_directories(dir);
    responder.on_captured = [dir](const std::string& name, const std::vector<std::byte>& data) {
      if (FILE* f = std::fopen((dir / name).c_str(), "wb")) {
        std::fwrite(data.data(), 1, data.size(), f);
        std::fclose(f);
      }
    };
  }
  slot->camera = std::make_unique<virtual_ptp_camera>(std::move(id), std::move(responder));
  slot->device = std::make_unique<usbdevfs_device>(testbed, *slot->camera, bus);
  return slot;
}

std::string format_fps(double fps) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", fps);
  return text;
}

std::string camera_command(std::istringstream& in, camera_slot* cam) {
  if (cam == nullptr) return "error: no camera here: start tether-sim with --camera nikon\n";
  std::string verb;
  in >> verb;
  std::string error;
  if (verb == "plug" || verb == "replug") {
    if (verb == "replug") cam->device->unplug();
    if (!cam->device->plug(error)) return "error: " + error + "\n";
  } else if (verb == "unplug") {
    cam->device->unplug();
  } else if (verb == "busy") {
    int n = -1;
    if (!(in >> n) || n < 0) return "error: 'camera busy N' takes a count, e.g. 'camera busy 3'\n";
    cam->device->with_function(
        [n](usb_function& f) { static_cast<virtual_ptp_camera&>(f).responder().set_busy(n); });
  } else if (verb == "fps") {
    double fps = 0;
    if (!(in >> fps) || !(fps > 0 && fps <= 1000))
      return "error: 'camera fps N' takes a frame rate from 1 to 1000, e.g. 'camera fps 30'\n";
    cam->device->with_function([fps](usb_function& f) {
      static_cast<virtual_ptp_camera&>(f).responder().set_live_view_fps(
          fps, std::chrono::steady_clock::now());
    });
  } else if (verb == "status") {
    std::string out = cam->device->plugged() ? "plugged" : "unplugged";
    cam->device->with_function([&out](usb_function& f) {
      auto& r = static_cast<virtual_ptp_camera&>(f).responder();
      out += std::string(" session=") + (r.session_open() ? "open" : "closed") +
             " shots=" + std::to_string(r.shots()) +
             " live_view_frames=" + std::to_string(r.live_view_frames_served()) +
             " live_view_skipped=" + std::to_string(r.live_view_frames_skipped()) +
             " live_view_fps=" + format_fps(r.live_view_fps()) +
             " focus=" + std::to_string(r.focus_position()) +
             " af_drives=" + std::to_string(r.af_drives()) + "\n";
    });
    return out + "ok\n";
  } else {
    return "error: unknown camera command '" + verb +
           "' (camera plug, camera unplug, camera replug, camera busy N, camera fps N, "
           "camera status)\n";
  }
  if (verbose) tether::log::info("camera: " + verb);
  return "ok\n";
}

std::string run_command(const std::string& line, std::vector<phone_controls*>& phones,
                        camera_slot* cam) {
  std::istringstream in(line);
  std::string verb;
  in >> verb;
  if (verb == "camera") return camera_command(in, cam);
  return run_phone_command(line, phones, [](const std::string& what) {
    if (verbose) tether::log::info(what);
  });
}

pid_t child = 0;
void forward_signal(int sig) {
  if (child > 0) ::kill(child, sig);
}

}  // namespace

int main(int argc, char** argv) {
  tether::log::set_program("tether-sim");
  tether::pairing::openssl_without_exit_cleanup();  // threads we do not join use it
  options o = parse(argc, argv);

  // Uevents for hotplug are resolved through the preload, so this process needs it
  // too; re-run ourselves under it once.
  const char* preload = std::getenv("LD_PRELOAD");
  if (preload == nullptr || std::strstr(preload, "libumockdev-preload") == nullptr) {
    std::string value = "libumockdev-preload.so.0";
    if (preload != nullptr && *preload != '\0') value += std::string(":") + preload;
    ::setenv("LD_PRELOAD", value.c_str(), 1);
    ::execv("/proc/self/exe", argv);
    tether::log::error(std::string("cannot re-run under the umockdev preload: ") +
                       std::strerror(errno));
    return 1;
  }

  UMockdevTestbed* testbed = umockdev_testbed_new();
  if (o.rate_mbps < 0)
    o.rate_mbps = o.speed == usb_speed::super ? super_speed_mbps : high_speed_mbps;
  usb_bus bus(o.rate_mbps * 1e6, std::chrono::microseconds(o.latency_us),
              o.speed == usb_speed::super);
  std::vector<std::unique_ptr<usbdevfs_phone>> phones;
  for (int i = 0; i < o.phones; ++i) {
    const iphone_identity id = identity_for(o, i);
    tether::usbmux::device_options dopt;
    dopt.refused_reason = "no app listening on this port";
    virtual_phone phone(id, dopt);
    add_apps(phone, o.apps);
    if (o.trust_after >= 0) phone.trust().set_auto_accept(std::chrono::seconds(o.trust_after));
    phones.push_back(std::make_unique<usbdevfs_phone>(testbed, std::move(phone), bus));
    std::string error;
    if (!phones.back()->plug(error)) {
      tether::log::error("phone " + std::to_string(i + 1) + ": " + error);
      return 1;
    }
    if (verbose)
      tether::log::info("phone " + std::to_string(i + 1) + " " + phones.back()->udid() +
                        " plugged");
  }

  std::vector<phone_controls*> controls;
  for (auto& p : phones) controls.push_back(p.get());

  std::unique_ptr<camera_slot> camera;
  if (!o.camera.empty()) {
    camera = make_camera(testbed, bus, o);
    std::string error;
    if (!camera->device->plug(error)) {
      tether::log::error("camera: " + error);
      return 1;
    }
    if (verbose) tether::log::info("camera (Nikon D750) plugged");
  }

  // The program under test can drive the phones too: it finds the control socket
  // (made in the testbed when --control is not given) in TETHER_SIM_CONTROL.
  if (o.control.empty()) {
    gchar* root = umockdev_testbed_get_root_dir(testbed);
    o.control = std::string(root) + "/tether-sim.control";
    g_free(root);
  }
  const int control = open_control_socket(o.control);
  ::setenv("TETHER_SIM_CONTROL", o.control.c_str(), 1);
  ::setenv("TETHER_SIM_SOURCE_BYTES", std::to_string(o.apps.source_bytes).c_str(), 1);
  ::setenv("TETHER_SIM_PHONES", std::to_string(o.phones).c_str(), 1);
  ::setenv("TETHER_SIM_RATE", std::to_string(o.rate_mbps).c_str(), 1);  // MB/s, 0 = no limit
  ::setenv("TETHER_SIM_SPEED", o.speed == usb_speed::super ? "super" : "high", 1);
  ::setenv("TETHER_SIM_OLD_SERIAL", o.old_serial ? "1" : "0", 1);

  child = ::fork();
  if (child == 0) {
    ::execvp(o.command[0], o.command.data());
    std::fprintf(stderr, "tether-sim: cannot run %s: %s\n", o.command[0], std::strerror(errno));
    std::_Exit(127);
  }
  ::signal(SIGINT, forward_signal);
  ::signal(SIGTERM, forward_signal);
  ::signal(SIGHUP, forward_signal);

  int status = 0;
  for (;;) {
    const pid_t done = ::waitpid(child, &status, WNOHANG);
    if (done == child) break;
    run_trust_timers(controls, [](const std::string& what) { tether::log::info(what); });
    pollfd pfd{control, POLLIN, 0};
    if (::poll(&pfd, 1, 50) > 0) {
      const int conn = ::accept4(control, nullptr, nullptr, SOCK_CLOEXEC);
      if (conn >= 0) {
        std::string buf(1024, '\0');
        const ssize_t n = ::recv(conn, buf.data(), buf.size(), 0);
        std::string reply;
        if (n > 0) {
          std::istringstream lines(buf.substr(0, static_cast<std::size_t>(n)));
          for (std::string line; std::getline(lines, line);)
            if (!line.empty()) reply += run_command(line, controls, camera.get());
        }
        (void)::send(conn, reply.data(), reply.size(), MSG_NOSIGNAL);
        ::close(conn);
      }
    }
  }
  ::close(control);
  ::unlink(o.control.c_str());
  phones.clear();
  camera.reset();
  g_object_unref(testbed);
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}
