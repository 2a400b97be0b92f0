#include "daemon/options.hpp"

#include <getopt.h>

#include <charconv>
#include <cstring>

#include "daemon/errc.hpp"

namespace tether::daemon {

const char* const usage =
    "usage: tetherd [options]\n"
    "\n"
    "Serves attached iPhones on a usbmuxd-compatible socket, and forwards local TCP\n"
    "ports to phone ports.\n"
    "\n"
    "usbmuxd's options, with the same meaning:\n"
    "  -S, --socket PATH|ADDR:PORT  where clients connect (default /var/run/usbmuxd)\n"
    "  -C, --config-dir DIR    pair records and SystemBUID (default /var/lib/lockdown)\n"
    "  -P, --pidfile PATH|NONE single-instance lock (default /var/run/tetherd.pid)\n"
    "  -U, --user USER         drop privileges to USER once the socket is open\n"
    "  -f, --foreground        do not daemonize; log to stderr\n"
    "  -v, --verbose           log debug lines too\n"
    "  -l, --logfile FILE      append the log to FILE\n"
    "  -z, --enable-exit       let `tetherd -x` stop this instance once no phone is left\n"
    "  -x, --exit              ask the running tetherd to exit when no phone is attached\n"
    "  -X, --force-exit        stop the running tetherd now\n"
    "  -u, --udev              udev mode: -n and -z\n"
    "  -s, --systemd           systemd mode: -z and -f; readiness via sd_notify\n"
    "  -n, --disable-hotplug   accepted; tetherd looks for phones again on SIGUSR2\n"
    "  -p, --no-preflight      accepted; tetherd does no pairing preflight\n"
    "  -V, --version           print the version\n"
    "  -h, --help              this text\n"
    "\n"
    "tetherd's own:\n"
    "  -c, --config FILE       configuration (default /etc/tether/tetherd.conf, if present)\n"
    "  -g, --group NAME        group allowed to use the socket (mode 0660; usbmuxd's is 0666)\n"
    "      --tcp ADDR:PORT     also listen on this loopback TCP address\n"
    "      --state-dir DIR|NONE  where forwards added at run time are saved, to be\n"
    "                          restored at the next start (default /var/lib/tether)\n"
    "      --exit-when-idle[=SECONDS]  exit once no phone has been attached for SECONDS\n"
    "                          (default 2)\n"
    "\n"
    "Started by systemd's socket activation (tetherd.socket), tetherd serves the socket\n"
    "it is given instead of --socket, and exits when idle: systemd starts it again for\n"
    "the next client.\n"
    "A second tetherd started while one runs asks it to look for phones (SIGUSR2) and\n"
    "exits. Exit status: 0 on a clean stop, 1 when tetherd cannot start, 2 on bad usage.\n";

base::result<options> parse_options(int argc, char** argv) {
  enum { opt_tcp = 1000, opt_exit_when_idle, opt_state_dir };
  static const option longs[] = {
      {"socket", required_argument, nullptr, 'S'},
      {"config-dir", required_argument, nullptr, 'C'},
      {"pidfile", required_argument, nullptr, 'P'},
      {"user", required_argument, nullptr, 'U'},
      {"foreground", no_argument, nullptr, 'f'},
      {"verbose", no_argument, nullptr, 'v'},
      {"logfile", required_argument, nullptr, 'l'},
      {"enable-exit", no_argument, nullptr, 'z'},
      {"exit", no_argument, nullptr, 'x'},
      {"force-exit", no_argument, nullptr, 'X'},
      {"udev", no_argument, nullptr, 'u'},
      {"systemd", no_argument, nullptr, 's'},
      {"disable-hotplug", no_argument, nullptr, 'n'},
      {"no-preflight", no_argument, nullptr, 'p'},
      {"version", no_argument, nullptr, 'V'},
      {"help", no_argument, nullptr, 'h'},
      {"config", required_argument, nullptr, 'c'},
      {"group", required_argument, nullptr, 'g'},
      {"tcp", required_argument, nullptr, opt_tcp},
      {"exit-when-idle", optional_argument, nullptr, opt_exit_when_idle},
      {"state-dir", required_argument, nullptr, opt_state_dir},
      {nullptr, 0, nullptr, 0},
  };
  options o;
  ::optind = 0;  // reset getopt, so tests may parse several command lines
  ::opterr = 0;
  int c = 0;
  auto nonempty = [](const char* a, const char* what) -> std::optional<std::string> {
    if (a == nullptr || a[0] == '\0' || a[0] == '-') return std::string(what) + " needs a value";
    return std::nullopt;
  };
  while ((c = ::getopt_long(argc, argv, "S:C:P:U:fvl:zxXusnpVhc:g:", longs, nullptr)) != -1) {
    switch (c) {
      case 'S':
        if (auto e = nonempty(optarg, "--socket")) return {daemon_errc::bad_option, *e};
        o.socket = optarg;
        break;
      case 'C':
        if (auto e = nonempty(optarg, "--config-dir")) return {daemon_errc::bad_option, *e};
        o.config_dir = optarg;
        break;
      case 'P':
        if (auto e = nonempty(optarg, "--pidfile")) return {daemon_errc::bad_option, *e};
        o.pidfile = optarg;
        break;
      case 'U':
        if (auto e = nonempty(optarg, "--user")) return {daemon_errc::bad_option, *e};
        o.user = optarg;
        break;
      case 'l':
        if (auto e = nonempty(optarg, "--logfile")) return {daemon_errc::bad_option, *e};
        if (o.logfile) return {daemon_errc::bad_option, "--logfile may be given once"};
        o.logfile = optarg;
        break;
      case 'c':
        if (auto e = nonempty(optarg, "--config")) return {daemon_errc::bad_option, *e};
        o.config_file = optarg;
        o.config_file_given = true;
        break;
      case 'g':
        if (auto e = nonempty(optarg, "--group")) return {daemon_errc::bad_option, *e};
        o.group = optarg;
        break;
      case opt_tcp:
        if (auto e = nonempty(optarg, "--tcp")) return {daemon_errc::bad_option, *e};
        o.tcp = optarg;
        break;
      case opt_state_dir:
        if (auto e = nonempty(optarg, "--state-dir")) return {daemon_errc::bad_option, *e};
        o.state_dir = optarg;
        break;
      case opt_exit_when_idle: {
        long s = default_idle_grace.count();
        if (optarg != nullptr) {
          const char* end = optarg + std::strlen(optarg);
          auto [p, ec] = std::from_chars(optarg, end, s);
          if (ec != std::errc() || p != end || s < 0 || s > 86400)
            return {daemon_errc::bad_option, "--exit-when-idle takes seconds, 0 to 86400"};
        }
        o.exit_when_idle = std::chrono::seconds(s);
        break;
      }
      case 'f': o.foreground = true; break;
      case 'v': o.verbose++; break;
      case 'z': o.enable_exit = true; break;
      case 'x': o.what = options::action::exit_running; break;
      case 'X': o.what = options::action::force_exit_running; break;
      case 'u':
        o.disable_hotplug = true;
        o.enable_exit = true;
        break;
      case 's':
        o.enable_exit = true;
        o.foreground = true;
        break;
      case 'n': o.disable_hotplug = true; break;
      case 'p': break;
      case 'V': o.what = options::action::version; break;
      case 'h': o.what = options::action::help; break;
      default:
        if (::optopt != 0 && std::strchr("SCPUlcg", ::optopt) != nullptr)
          return {daemon_errc::bad_option,
                  "-" + std::string(1, static_cast<char>(::optopt)) + " needs a value"};
        return {daemon_errc::bad_option,
                "unknown option '" + std::string(argv[::optind - 1]) + "'"};
    }
  }
  if (::optind < argc)
    return {daemon_errc::bad_option, "unexpected argument '" + std::string(argv[::optind]) + "'"};
  return o;
}

}  // namespace tether::daemon
