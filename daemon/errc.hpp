#pragma once
// Why the daemon refused or could not set something up, as a std::error_code of its
// own category. Failures of the system itself (a bind, a chown, a write) keep the
// system's code; these are tetherd's own reasons. Either comes in a base::result with
// a detail that quotes the values ("'10.0.0.1' would open the phone's port ...").
#include <cerrno>
#include <system_error>

namespace tether::daemon {

enum class daemon_errc {
  bad_option = 1,   // the command line is malformed
  bad_config,       // tetherd.conf or the saved forwards are malformed
  bad_address,      // not ADDRESS:PORT, or not an IP address
  bad_value,        // a malformed field: a UDID, a missing phone port
  remote_refused,   // a non-loopback address, and allow-remote is not set
  in_use,           // a socket another daemon serves, a forward's name, a lock
  limit_reached,    // a configured bound (the number of forwards) is reached
  not_a_socket,     // a path or a passed descriptor tetherd cannot listen on
  bad_activation,   // systemd's LISTEN_* variables or sockets are not usable
  unknown_user,     // no such user or group
  privileges_kept,  // root could still be regained after dropping to the user
};

const std::error_category& daemon_category() noexcept;

inline std::error_code make_error_code(daemon_errc e) noexcept {
  return {static_cast<int>(e), daemon_category()};
}

// An errno value as an error_code.
inline std::error_code errno_code(int e = errno) noexcept { return {e, std::generic_category()}; }

}  // namespace tether::daemon

template <>
struct std::is_error_code_enum<tether::daemon::daemon_errc> : std::true_type {};
