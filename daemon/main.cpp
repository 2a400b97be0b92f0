// tetherd: a usbmuxd for embedded Linux. It owns every attached iPhone, speaks the
// usbmuxd protocol on a unix socket (so iproxy, idevice_id, libimobiledevice and
// PeerTalk hosts work unchanged), and forwards local TCP ports to phone ports.
#include <libusb.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <cstdio>
#include <cstring>
#include <string>

#include "base/log.hpp"
#include "daemon/client_listener.hpp"
#include "daemon/config.hpp"
#include "daemon/daemonize.hpp"
#include "daemon/device_registry.hpp"
#include "daemon/forward_table.hpp"
#include "daemon/instance_lock.hpp"
#include "daemon/options.hpp"
#include "daemon/pairing_service.hpp"
#include "daemon/privileges.hpp"
#include "daemon/reverse_table.hpp"
#include "daemon/saved_forwards.hpp"
#include "daemon/sd_notify.hpp"
#include "daemon/socket_activation.hpp"
#include "daemon/usb_phones.hpp"
#include "usbmux/usb/usb_host.hpp"

#ifndef TETHER_VERSION
#define TETHER_VERSION "0"
#endif

namespace {

using namespace tether;
using daemon::options;

// libusb's own warnings and errors, as tetherd log lines.
void LIBUSB_CALL libusb_line(libusb_context*, enum libusb_log_level level, const char* text) {
  std::string line(text);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  // "libusb: error [function] what": the level is ours to print, the function is noise.
  if (const auto bracket = line.find("] ");
      line.rfind("libusb: ", 0) == 0 && bracket != std::string::npos)
    line = "libusb: " + line.substr(bracket + 2);
  const auto l = level == LIBUSB_LOG_LEVEL_ERROR     ? log::level::error
                 : level == LIBUSB_LOG_LEVEL_WARNING ? log::level::warn
                                                     : log::level::debug;
  log::write(l, line);
}

int signal_running(const options& o) {
  if (o.pidfile == "NONE") {
    std::fprintf(stderr, "tetherd: -x/-X need a pid file to find the running tetherd\n");
    return 1;
  }
  const auto held = daemon::instance_lock::holder(o.pidfile);
  if (!held) {
    std::fprintf(stderr, "tetherd: %s\n", held.describe().c_str());
    return 1;
  }
  const pid_t pid = *held;
  if (pid == 0) {
    std::fprintf(stderr, "tetherd: no running tetherd found (%s is not locked)\n",
                 o.pidfile.c_str());
    return 0;
  }
  const bool force = o.what == options::action::force_exit_running;
  if (::kill(pid, force ? SIGTERM : SIGUSR1) != 0) {
    std::fprintf(stderr, "tetherd: cannot signal tetherd (pid %d): %s\n", pid,
                 std::strerror(errno));
    return 1;
  }
  std::fprintf(stderr, "tetherd: %s tetherd (pid %d)\n",
               force ? "stopping" : "asked to exit once no phone is attached:", pid);
  return 0;
}

int serve(const options& o, daemon::config& cfg, daemon::startup_reporter& started) {
  // A second tetherd pokes this one as soon as the lock is ours: never die of it.
  ::signal(SIGUSR1, SIG_IGN);
  ::signal(SIGUSR2, SIG_IGN);
  daemon::instance_lock lock;
  if (o.pidfile != "NONE") {
    auto running = lock.acquire(o.pidfile);
    // udev starts tetherd on every plug: the running one looks for the new phone. If
    // it was just exiting (its last phone left a moment ago), it lets go of the lock
    // as it stops, and this start takes over instead of leaving the new phone alone.
    if (running && *running > 0) {
      ::kill(*running, SIGUSR2);
      ::usleep(300'000);
      if (auto now = daemon::instance_lock::holder(o.pidfile); now && *now == *running) {
        log::info("tetherd is already running (pid " + std::to_string(*running) +
                  "): asked it to look for phones");
        return started.succeed_and_exit();
      }
      running = lock.acquire(o.pidfile);
    }
    if (!running) return started.fail(running.describe());
    if (*running > 0) {
      log::info("tetherd is already running (pid " + std::to_string(*running) + ")");
      return started.succeed_and_exit();
    }
  }

  asio::io_context io;
  // Caught from here on, before anything outside can see this tetherd (a phone it logs
  // about, its socket): a SIGTERM that comes early waits in the set and still stops it
  // cleanly. Created where it is waited for, an early one killed tetherd (exit 143).
  asio::signal_set stops(io, SIGINT, SIGTERM, SIGQUIT);
  usb::event_loop loop(io);
  daemon::device_registry devices;
  daemon::usb_phones usb_side(devices);
  usb::usb_host host(loop, {}, usb_side);
  if (auto ec = loop.start()) return started.fail("cannot start libusb: " + ec.message());
  libusb_set_log_cb(loop.context(), libusb_line, LIBUSB_LOG_CB_GLOBAL | LIBUSB_LOG_CB_CONTEXT);
  auto libusb_level = [&](log::level l) {
    libusb_set_option(loop.context(), LIBUSB_OPTION_LOG_LEVEL,
                      l == log::level::debug ? LIBUSB_LOG_LEVEL_INFO : LIBUSB_LOG_LEVEL_WARNING);
  };
  libusb_level(log::current());
  log::on_level_change(libusb_level);

  const daemon::pair_records records(o.config_dir);
  const auto stored_buid = records.system_buid();
  if (!stored_buid)
    return started.fail(stored_buid.describe() + " (choose another place with --config-dir)");
  const std::string& buid = *stored_buid;

  const auto give_up = std::chrono::seconds(cfg.forward_give_up_seconds);
  daemon::forward_table forwards(io, devices, cfg.allow_remote_forwards,
                                 daemon::retry_policy{.give_up = give_up});
  base::repeat_limiter repeats;
  daemon::pairing_service pairing(
      io, devices, records, buid,
      {.automatic = cfg.pair_automatically,
       .identity_file = std::filesystem::path(o.config_dir) / "tether-host-keys.pem",
       .flow = {.trust_wait = std::chrono::seconds(cfg.trust_wait_seconds)}});
  daemon::reverse_table reverses(io, devices);
  daemon::daemon_context ctx{devices, records, buid, forwards, repeats, &pairing, &reverses};
  ctx.limits.max_clients = cfg.max_clients;
  daemon::client_listener listener(io, ctx);
  std::string host_part;
  std::uint16_t port = 0;
  const bool socket_is_tcp = o.socket.find('/') == std::string::npos &&
                             daemon::split_address_port(o.socket, host_part, port);
  const std::string group = o.group.value_or(cfg.group.value_or(""));
  const auto passed = daemon::systemd_socket();
  if (!passed) return started.fail(passed.describe());
  const std::optional<int> activated = *passed;  // the socket systemd passed, if any
  const auto listening = activated       ? listener.adopt(*activated)
                         : socket_is_tcp ? listener.listen_tcp(o.socket, cfg.allow_remote_forwards)
                                         : listener.listen_unix(o.socket, group);
  if (!listening) return started.fail(listening.describe());
  if (o.tcp) {
    if (auto tcp = listener.listen_tcp(*o.tcp, cfg.allow_remote_forwards); !tcp)
      return started.fail(tcp.describe());
  }
  auto describe = [](const proto::tetherd::forward_status& f) {
    return f.spec.bind_address + ":" + std::to_string(f.bound_port) + " -> phone port " +
           std::to_string(f.spec.phone_port) + (f.spec.udid.empty() ? "" : " on " + f.spec.udid);
  };
  for (const auto& spec : cfg.forwards) {
    auto added = forwards.add(spec, daemon::forward_table::origin::config_file);
    if (!added) return started.fail("forward " + spec.name + ": " + added.describe());
    log::info("forward " + added->spec.name + ": " + describe(*added));
  }
  for (const auto& spec : cfg.reverses) {
    auto added = reverses.add(spec, daemon::reverse_table::origin::config_file);
    if (!added) return started.fail("reverse " + spec.name + ": " + added.describe());
  }
  // Forwards and reverses added at run time come back as they were (a port the kernel
  // chose, too). One that cannot (its port taken meanwhile, its name now in
  // tetherd.conf) is said and dropped; the others still serve.
  const daemon::saved_forwards saved(o.state_dir == "NONE" ? "" : o.state_dir);
  if (auto prepared = saved.prepare(); !prepared) log::warn(prepared.describe());
  std::string problem;
  const auto restored = saved.load(problem);
  for (const auto& spec : restored.forwards) {
    if (auto added = forwards.add(spec))
      log::info("forward " + added->spec.name + " (saved): " + describe(*added));
    else
      log::warn("saved forward " + spec.name + " not restored: " + added.describe());
  }
  for (const auto& spec : restored.reverses)
    if (auto added = reverses.add(spec); !added)
      log::warn("saved reverse " + spec.name + " not restored: " + added.describe());
  if (!problem.empty()) log::warn(problem);
  auto save = [&] {
    if (auto stored = saved.save({forwards.client_specs(), reverses.client_specs()}); !stored)
      log::warn(stored.describe());
  };
  forwards.on_client_change(save);
  reverses.on_client_change(save);

  if (const auto user = o.user ? o.user : cfg.user) {
    std::vector<std::string> writable{o.config_dir};
    if (saved.enabled()) writable.push_back(o.state_dir);
    if (auto dropped = daemon::drop_privileges(*user, writable); !dropped)
      return started.fail(dropped.describe());
  }
  if (auto ec = host.start())
    return started.fail("cannot watch for phones (libusb hotplug): " + ec.message());
  log::info("listening on " + listener.describe());

  // Exit when idle: once asked (SIGUSR1 from `tetherd -x`, or --exit-when-idle), tetherd
  // exits after no phone has been attached for the grace period. The grace lets a phone
  // that reboots (removed, then added a second later) keep its daemon. It stays while a
  // forward is kept or a client is connected: a forward added with `tether forward add`
  // must outlive an unplug, and `tether watch` waits for the next phone.
  // Socket-activated, tetherd exits when idle from the start: systemd holds the socket
  // meanwhile and starts a tetherd again for the next client, or udev for the next phone.
  std::optional<std::chrono::seconds> idle_grace = o.exit_when_idle;
  if (activated && !idle_grace) idle_grace = daemon::default_idle_grace;
  base::quiet_timer idle_timer(io);
  auto stop = [&](const std::string& why) {
    log::info("stopping: " + why);
    daemon::sd_notify("STOPPING=1");
    listener.close();
    lock.release();  // a tetherd started from now on serves the next phone itself
    listener.close_clients();
    forwards.stop_all();
    reverses.stop_all();
    idle_timer.cancel();
    host.shut_down_all("tetherd stopping");
    io.stop();
  };
  bool said_staying = false;
  std::function<void(std::size_t)> check_idle = [&](std::size_t phones) {
    if (!idle_grace) return;
    if (phones > 0) {
      idle_timer.cancel();
      said_staying = false;
      return;
    }
    idle_timer.expires_after(*idle_grace);
    idle_timer.async_wait([&](std::error_code ec) {
      if (ec || !devices.devices().empty()) return;
      const std::size_t kept = forwards.list().size(), back = reverses.size(),
                        clients = listener.clients();
      if (kept == 0 && back == 0 && clients == 0)
        return stop("no phone attached: exiting when idle");
      if (!said_staying)
        log::info("no phone attached, staying up for " + std::to_string(kept) +
                  (kept == 1 ? " forward, " : " forwards, ") + std::to_string(back) +
                  (back == 1 ? " reverse and " : " reverses and ") + std::to_string(clients) +
                  (clients == 1 ? " client" : " clients"));
      said_staying = true;
      check_idle(0);  // look again after another grace period
    });
  };
  devices.on_count_change([&](std::size_t n) {
    daemon::sd_notify("STATUS=serving " + std::to_string(n) + (n == 1 ? " phone" : " phones"));
    check_idle(n);
  });
  check_idle(devices.devices().size());

  stops.async_wait([&](std::error_code, int sig) { stop(::strsignal(sig)); });
  asio::signal_set pokes(io, SIGUSR1, SIGUSR2);
  std::function<void()> wait_pokes = [&] {
    pokes.async_wait([&](std::error_code ec, int sig) {
      if (ec) return;
      if (sig == SIGUSR2) {
        log::info("poked by another tetherd: looking for phones");
        host.rescan();
      } else if (o.enable_exit) {
        if (!idle_grace) idle_grace = daemon::default_idle_grace;
        log::info("asked to exit once no phone is attached (" +
                  std::to_string(devices.devices().size()) + " attached now)");
        check_idle(devices.devices().size());
      } else {
        log::info("ignoring SIGUSR1 (exit when idle): start tetherd with -z to allow it");
      }
      wait_pokes();
    });
  };
  wait_pokes();

  daemon::sd_notify("READY=1\nSTATUS=serving 0 phones");
  started.succeed();
  // Nothing but sockets, USB, timers that something asked for and signals wakes tetherd.
  io.run();
  io.restart();
  // Let the phones' RSTs and the USB teardown finish, but never hang on a stuck device.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (host.link_count() > 0 && std::chrono::steady_clock::now() < deadline)
    io.run_for(std::chrono::milliseconds(10));
  // Closed sockets' handlers finish now, while the registry they point to still exists.
  io.poll();
  log::info("stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  log::set_program("tetherd");
  auto parsed = daemon::parse_options(argc, argv);
  if (!parsed) {
    std::fprintf(stderr, "tetherd: %s\n\n%s", parsed.describe().c_str(), daemon::usage);
    return 2;
  }
  const options& o = *parsed;
  switch (o.what) {
    case options::action::help: std::fputs(daemon::usage, stdout); return 0;
    case options::action::version: std::puts("tetherd " TETHER_VERSION); return 0;
    case options::action::exit_running:
    case options::action::force_exit_running: return signal_running(o);
    case options::action::serve: break;
  }
  if (o.verbose > 0) log::set_level(log::level::debug);

  auto loaded = daemon::load_config(o.config_file, !o.config_file_given);
  if (!loaded) {
    log::error(loaded.describe());
    return 1;
  }
  auto& cfg = *loaded;
  if (cfg.log_level && o.verbose == 0) log::set_level(*log::parse_level(*cfg.log_level));

  if (o.logfile && !std::freopen(o.logfile->c_str(), "a", stderr)) {
    std::fprintf(stdout, "tetherd: cannot open the log file %s: %s\n", o.logfile->c_str(),
                 std::strerror(errno));
    return 1;
  }
  if (o.logfile) std::setvbuf(stderr, nullptr, _IOLBF, 0);
  ::signal(SIGPIPE, SIG_IGN);

  daemon::startup_reporter started;
  if (!o.foreground) {
    if (!o.logfile) log::use_syslog();
    if (auto status = started.daemonize()) return *status;  // the parent's exit
  }
  return serve(o, cfg, started);
}
