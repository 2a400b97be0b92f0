#pragma once
// Running as root only as long as needed: once the socket, pid file and configuration
// directory are set up, tetherd becomes USER (-U), as usbmuxd does. USB device nodes
// must then be reachable by that user (the udev rules give them to its group).
#include <string>
#include <vector>

#include "base/result.hpp"

namespace tether::daemon {

// Does nothing unless running as root. The directories tetherd writes in (pair records,
// saved forwards) are handed to the user first.
base::result<void> drop_privileges(const std::string& user,
                                   const std::vector<std::string>& writable_dirs);

}  // namespace tether::daemon
