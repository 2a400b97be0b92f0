#pragma once
// systemd's socket activation (sd_listen_fds(3)): tetherd.socket holds /run/usbmuxd
// while tetherd is not running and starts tetherd at the first client, passing the
// listening socket as fd 3 with LISTEN_PID and LISTEN_FDS set. Written here rather
// than linking libsystemd: the protocol is these three variables.
#include <optional>
#include <string>
#include <variant>

namespace tether::daemon {

// The environment's claim, checked without I/O: how many sockets were passed to the
// process `self`. 0 when the variables are absent or meant for another process (a
// parent's, inherited); an error when they are present for us but malformed.
std::variant<int, std::string> passed_socket_count(const char* listen_pid, const char* listen_fds,
                                                   long self);

// The socket systemd passed, if any: checked to be one listening stream socket (unix
// or TCP), marked close-on-exec, and the variables removed so no child inherits them.
// nullopt with `error` empty when tetherd was not socket-activated.
std::optional<int> systemd_socket(std::string& error);

}  // namespace tether::daemon
