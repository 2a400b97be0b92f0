#pragma once
// Running as root only as long as needed: once the socket, pid file and configuration
// directory are set up, tetherd becomes USER (-U), as usbmuxd does. USB device nodes
// must then be reachable by that user (the udev rules give them to its group).
#include <string>

namespace tether::daemon {

// Does nothing unless running as root. The configuration directory is handed to the
// user so pair records can still be written.
bool drop_privileges(const std::string& user, const std::string& config_dir, std::string& error);

}  // namespace tether::daemon
