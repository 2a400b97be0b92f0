// tetherd: a usbmuxd for embedded Linux. It owns every attached iPhone and speaks the
// usbmuxd protocol on a unix socket, so iproxy, idevice_id, libimobiledevice and
// PeerTalk hosts work unchanged.
#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <asio/io_context.hpp>
#include <asio/local/stream_protocol.hpp>
#include <asio/signal_set.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "daemon/client_session.hpp"
#include "daemon/device_registry.hpp"
#include "daemon/log.hpp"
#include "usbmux/usb/usb_host.hpp"

namespace {

using namespace tether;

const char* const usage =
    "usage: tetherd [options]\n"
    "\n"
    "Serves attached iPhones on a usbmuxd-compatible unix socket.\n"
    "\n"
    "options:\n"
    "  -S, --socket PATH   where to listen (default /var/run/usbmuxd)\n"
    "  -C, --config-dir DIR  pair records and SystemBUID (default /var/lib/lockdown)\n"
    "  -g, --group NAME    group allowed to use the socket (mode 0660; usbmuxd's is 0666)\n"
    "  -f, --foreground    stay in the foreground (tetherd always does; accepted for usbmuxd "
    "scripts)\n"
    "  -v, --verbose       log debug lines too\n"
    "  -p, --no-preflight  accepted for usbmuxd scripts: tetherd does no preflight\n"
    "  -h, --help          this text\n";

}  // namespace

int main(int argc, char** argv) {
  std::string socket_path = "/var/run/usbmuxd";
  std::string config_dir = "/var/lib/lockdown";
  std::string group;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if ((a == "-S" || a == "--socket") && i + 1 < argc)
      socket_path = argv[++i];
    else if ((a == "-C" || a == "--config-dir") && i + 1 < argc)
      config_dir = argv[++i];
    else if ((a == "-g" || a == "--group") && i + 1 < argc)
      group = argv[++i];
    else if (a == "-f" || a == "--foreground" || a == "-p" || a == "--no-preflight")
      continue;
    else if (a == "-v" || a == "--verbose")
      daemon::log::set_level(daemon::log::level::debug);
    else if (a == "-h" || a == "--help") {
      std::fputs(usage, stdout);
      return 0;
    } else {
      std::fprintf(stderr, "tetherd: unknown option '%s'\n\n%s", a.c_str(), usage);
      return 2;
    }
  }

  asio::io_context io;
  usb::event_loop loop(io);
  daemon::device_registry devices;
  usb::usb_host host(loop, {}, devices);
  if (auto ec = loop.start()) {
    daemon::log::error("cannot start libusb: " + ec.message());
    return 1;
  }
  if (auto ec = host.start()) {
    daemon::log::error("cannot watch for phones (libusb hotplug): " + ec.message());
    return 1;
  }

  ::unlink(socket_path.c_str());
  asio::local::stream_protocol::acceptor acceptor(io);
  std::error_code ec;
  acceptor.open(asio::local::stream_protocol(), ec);
  if (!ec) acceptor.bind(asio::local::stream_protocol::endpoint(socket_path), ec);
  if (!ec) acceptor.listen(256, ec);
  if (ec) {
    daemon::log::error("cannot listen on " + socket_path + ": " + ec.message() +
                       " (is another usbmuxd running, or is the directory missing?)");
    return 1;
  }
  // Only the owner and one group may talk to the phones, not every local user.
  ::chmod(socket_path.c_str(), 0660);
  if (!group.empty()) {
    const ::group* g = ::getgrnam(group.c_str());
    if (g == nullptr || ::chown(socket_path.c_str(), static_cast<uid_t>(-1), g->gr_gid) != 0) {
      daemon::log::error(
          "cannot give the socket to group '" + group + "'" +
          (g == nullptr ? ": no such group" : std::string(": ") + std::strerror(errno)));
      return 1;
    }
  }
  daemon::log::info("listening on " + socket_path);

  const daemon::pair_records records(config_dir);
  std::string buid_error;
  const std::string buid = records.system_buid(buid_error);
  if (buid.empty()) {
    daemon::log::error(buid_error + " (choose another place with --config-dir)");
    return 1;
  }
  std::uint32_t next_client = 1;
  std::function<void()> accept = [&] {
    acceptor.async_accept([&](std::error_code aec, asio::local::stream_protocol::socket s) {
      if (aec) return;
      std::make_shared<daemon::client_session>(std::move(s), devices, records, next_client++, buid)
          ->start();
      accept();
    });
  };
  accept();

  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](std::error_code, int sig) {
    daemon::log::info(std::string("stopping on ") + (sig == SIGTERM ? "SIGTERM" : "SIGINT"));
    acceptor.close();
    host.shut_down_all("tetherd stopping");
    io.stop();
  });
  // Nothing but sockets, USB and signals wakes tetherd: no polling while idle.
  io.run();
  io.restart();
  // Let the phones' RSTs and the USB teardown finish, but never hang on a stuck device.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (host.link_count() > 0 && std::chrono::steady_clock::now() < give_up)
    io.run_for(std::chrono::milliseconds(10));
  ::unlink(socket_path.c_str());
  daemon::log::info("stopped");
  return 0;
}
