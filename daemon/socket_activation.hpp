#pragma once
// systemd's socket activation (sd_listen_fds(3)): tetherd.socket holds /run/usbmuxd
// while tetherd is not running and starts tetherd at the first client, passing the
// listening socket as fd 3 with LISTEN_PID and LISTEN_FDS set. Written here rather
// than linking libsystemd: the protocol is these three variables.
#include <optional>
#include <string>
#include <variant>

#include "base/result.hpp"

namespace tether::daemon {

// The environment's claim, checked without I/O: how many sockets were passed to the
// process `self`. 0 when the variables are absent or meant for another process (a
// parent's, inherited); an error (daemon_errc::bad_activation, quoting the value)
// when they are present for us but malformed.
base::result<int> passed_socket_count(const char* listen_pid, const char* listen_fds, long self);

// The socket systemd passed, if any: checked to be one listening stream socket (unix
// or TCP), marked close-on-exec, and the variables removed so no child inherits them.
// nullopt when tetherd was not socket-activated; an error when the sockets are not usable.
base::result<std::optional<int>> systemd_socket();

}  // namespace tether::daemon
