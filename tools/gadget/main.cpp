// tether-gadget: the virtual iPhone as a real USB gadget (configfs + FunctionFS), so
// that a Linux host on the other side of a UDC (dummy_hcd in a VM, or a board's
// device-mode port) enumerates it as an iPhone and talks usbmux to it.
//
//   tether-gadget [options]
//
// runs until SIGTERM or SIGINT, then unbinds the gadget and removes it. A control
// socket plugs and unplugs it (UDC unbind/bind: a cable pull) and injects faults.
#include <glib-unix.h>
#include <glib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>

#include "base/log.hpp"
#include "pairing/openssl_init.hpp"
#include "phone/app_setup.hpp"
#include "phone/control_commands.hpp"
#include "tools/gadget/gadget_phone.hpp"

namespace {

using namespace tether;

const char* const usage_head =
    "usage: tether-gadget [options]\n"
    "\n"
    "Makes this machine a virtual iPhone on its USB device controller (configfs and\n"
    "FunctionFS; needs root and the modules libcomposite, usb_f_fs, and a UDC such as\n"
    "dummy_hcd). The host it is plugged into sees 05ac:12a8 with an iPhone's four\n"
    "configurations and talks usbmux to it. Runs until SIGTERM or SIGINT, then unplugs\n"
    "and removes the gadget.\n"
    "\n"
    "options:\n"
    "  --udc NAME          the USB device controller (default: the first in\n"
    "                      /sys/class/udc)\n"
    "  --name NAME         the gadget's name in configfs (default tether_iphone)\n"
    "  --serial HEX        the phone's serial: 24 hex digits (the UDID adds a hyphen)\n"
    "                      or 40 (older phones); default 00008120000A2D910EDB401E\n"
    "  --run-dir DIR       where the FunctionFS instances are mounted\n"
    "                      (default /run/tether-gadget)\n"
    "  --source-bytes N    bytes the source app on port 2346 streams per connection\n"
    "                      (default 1 GiB)\n"
    "  --control PATH      unix socket taking commands, one per line (default\n"
    "                      RUN-DIR/control):\n"
    "                        list | plug 1 | unplug 1 | replug 1   (UDC bind/unbind)\n"
    "                      and faults:\n"
    "                        stall 1 in|out   halt an endpoint until the host clears it\n"
    "                        delay 1 MS       add MS to every bulk transfer (0 clears)\n"
    "                        drop 1           the same as unplug 1\n"
    "                        garbage 1        send a malformed mux packet\n"
    "                        mute 1 | unmute 1  stop / resume answering VERSION\n"
    "                        reset 1          every app resets its connections (RST)\n"
    "                        stale 1          data for a connection the host does not have\n"
    "                      and a look inside:\n"
    "                        stats 1          what the phone made of the host's transfers\n"
    "                                         (packets, packets_on_boundary: those that\n"
    "                                         needed a ZLP, too_large, mismatched: reads\n"
    "                                         that were not one packet) and its session\n";

// After the shared --app text.
const char* const usage_tail =
    "  --record DIR        controller apps keep frames, captures and report.json in\n"
    "                      DIR/UDID/\n"
    "  -v, --verbose       log every ep0 event and command too\n"
    "  -h, --help          this text\n"
    "\n";

std::string usage() {
  return std::string(usage_head) + sim::trust_command_help + sim::app_option_help + usage_tail +
         sim::default_apps_help;
}

struct options {
  gadget::gadget_options gadget;
  std::string serial = sim::iphone_identity{}.serial;
  std::string control;
  sim::app_options apps;
};

[[noreturn]] void bad_usage(const std::string& why) {
  std::fprintf(stderr, "tether-gadget: %s\n\n%s", why.c_str(), usage().c_str());
  std::exit(2);
}

bool is_hex(const std::string& s) {
  for (const char c : s)
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  return !s.empty();
}

options parse(int argc, char** argv) {
  options o;
  int i = 1;
  auto value = [&](const char* name) -> std::string {
    if (i + 1 >= argc) bad_usage(std::string(name) + " needs a value");
    return argv[++i];
  };
  for (; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--udc") {
      o.gadget.udc = value("--udc");
    } else if (a == "--name") {
      o.gadget.name = value("--name");
      if (o.gadget.name.empty() || o.gadget.name.find_first_of("/. ") != std::string::npos)
        bad_usage("--name takes a plain name (no '/', '.' or spaces), not '" + o.gadget.name + "'");
    } else if (a == "--serial") {
      o.serial = value("--serial");
      if (!is_hex(o.serial) || (o.serial.size() != 24 && o.serial.size() != 40))
        bad_usage("--serial takes 24 or 40 hex digits, not '" + o.serial + "'");
    } else if (a == "--run-dir") {
      o.gadget.run_dir = value("--run-dir");
    } else if (a == "--control") {
      o.control = value("--control");
    } else if (a == "--source-bytes") {
      const std::string v = value("--source-bytes");
      char* end = nullptr;
      const unsigned long long n = std::strtoull(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || n > (1ull << 40))
        bad_usage("--source-bytes takes a number from 0 to " + std::to_string(1ull << 40) +
                  ", not '" + v + "'");
      o.apps.source_bytes = n;
    } else if (a == "--record") {
      o.apps.record = value("--record");
    } else if (a == "--app") {
      std::string error;
      if (!sim::parse_app_option(value("--app"), o.apps, error)) bad_usage(error);
    } else if (a == "-v" || a == "--verbose") {
      log::set_level(log::level::debug);
    } else if (a == "-h" || a == "--help") {
      std::fputs(usage().c_str(), stdout);
      std::exit(0);
    } else {
      bad_usage("unknown option '" + a + "'");
    }
  }
  if (o.control.empty()) o.control = (o.gadget.run_dir / "control").string();
  return o;
}

int open_control_socket(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    log::error("--control path is too long: " + path);
    return -1;
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  ::unlink(path.c_str());
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(fd, 8) != 0) {
    log::error("cannot listen on control socket " + path + ": " + std::strerror(errno));
    if (fd >= 0) ::close(fd);
    return -1;
  }
  return fd;
}

struct program {
  gadget::gadget_phone* phone = nullptr;
  GMainLoop* loop = nullptr;
};

// One connection: the commands it sends in its first second, one reply for them all.
gboolean on_control(gint fd, GIOCondition, gpointer data) {
  auto* p = static_cast<program*>(data);
  const int conn = ::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
  if (conn < 0) return G_SOURCE_CONTINUE;
  const timeval limit{1, 0};  // a client that says nothing does not stop the phone
  ::setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  std::string buf(4096, '\0');
  const ssize_t n = ::recv(conn, buf.data(), buf.size(), 0);
  std::string reply;
  if (n > 0) {
    sim::phone_controls* phones[] = {p->phone};
    std::istringstream lines(buf.substr(0, static_cast<std::size_t>(n)));
    for (std::string line; std::getline(lines, line);)
      if (!line.empty())
        reply +=
            sim::run_phone_command(line, phones, [](const std::string& what) { log::info(what); });
  }
  (void)::send(conn, reply.data(), reply.size(), MSG_NOSIGNAL);
  ::close(conn);
  return G_SOURCE_CONTINUE;
}

gboolean on_ep0(gint, GIOCondition, gpointer data) {
  static_cast<program*>(data)->phone->on_ep0();
  return G_SOURCE_CONTINUE;
}

gboolean on_tick(gpointer data) {
  auto* p = static_cast<program*>(data);
  p->phone->tick();
  sim::phone_controls* phones[] = {p->phone};
  sim::run_trust_timers(phones, [](const std::string& what) { log::info(what); });
  return G_SOURCE_CONTINUE;
}

gboolean on_quit(gpointer data) {
  log::info("signal received: unplugging and removing the gadget");
  g_main_loop_quit(static_cast<program*>(data)->loop);
  return G_SOURCE_REMOVE;
}

}  // namespace

int main(int argc, char** argv) {
  log::set_program("tether-gadget");
  tether::pairing::openssl_without_exit_cleanup();  // threads we do not join use it
  const options o = parse(argc, argv);
  if (::geteuid() != 0)
    log::warn("not running as root: configfs and mount will most likely refuse");

  sim::iphone_identity id;
  id.serial = o.serial;
  usbmux::device_options dopt;
  dopt.refused_reason = "no app listening on this port";
  sim::virtual_phone phone(id, dopt);
  sim::add_apps(phone, o.apps);
  gadget::gadget_phone gadget(o.gadget, std::move(phone));

  std::string error;
  if (!gadget.start(error)) {
    log::error(error);
    return 1;
  }
  const int control = open_control_socket(o.control);
  if (control < 0) {
    gadget.stop();
    return 1;
  }
  log::info("control socket " + o.control);

  program p{&gadget, g_main_loop_new(nullptr, FALSE)};
  for (const int fd : gadget.ep0_fds()) g_unix_fd_add(fd, G_IO_IN, on_ep0, &p);
  g_unix_fd_add(control, G_IO_IN, on_control, &p);
  g_timeout_add(50, on_tick, &p);
  g_unix_signal_add(SIGTERM, on_quit, &p);
  g_unix_signal_add(SIGINT, on_quit, &p);
  g_main_loop_run(p.loop);

  ::close(control);
  ::unlink(o.control.c_str());
  gadget.stop();
  g_main_loop_unref(p.loop);
  log::info("gadget removed");
  return 0;
}
