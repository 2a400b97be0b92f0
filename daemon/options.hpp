#pragma once
// tetherd's command line. usbmuxd's options keep their meaning, so tetherd drops into
// scripts and units written for usbmuxd; tetherd's own options are long.
#include <chrono>
#include <optional>
#include <string>
#include <variant>

#include "base/result.hpp"

namespace tether::daemon {

struct options {
  std::string socket = "/var/run/usbmuxd";  // -S: a path, or ADDRESS:PORT for TCP only
  std::optional<std::string> tcp;           // --tcp ADDRESS:PORT, beside the unix socket
  std::string config_dir = "/var/lib/lockdown";
  std::string state_dir = "/var/lib/tether";  // saved forwards; "NONE": save nothing
  std::string config_file = "/etc/tether/tetherd.conf";
  bool config_file_given = false;
  std::string pidfile = "/var/run/tetherd.pid";  // "NONE": no single-instance lock
  std::optional<std::string> group;
  std::optional<std::string> user;     // -U
  std::optional<std::string> logfile;  // -l
  int verbose = 0;
  bool foreground = false;
  bool enable_exit = false;      // -z: honour SIGUSR1 from `tetherd -x`
  bool disable_hotplug = false;  // -n: accepted; tetherd rescans on SIGUSR2 either way
  // Exit once no phone has been attached for this long (--exit-when-idle).
  std::optional<std::chrono::seconds> exit_when_idle;
  enum class action { serve, help, version, exit_running, force_exit_running } what = action::serve;
};

inline constexpr std::chrono::seconds default_idle_grace{2};

// Parses argv; an error (daemon_errc::bad_option) has the detail to print with the usage.
base::result<options> parse_options(int argc, char** argv);
extern const char* const usage;

}  // namespace tether::daemon
