#pragma once
// A socket joined to a port on a phone, through the daemon's Connect.
#include <cstdint>
#include <string>

#include "tools/cli/phones.hpp"

namespace tether::cli {

// Chooses the phone (--udid or the only one), connects and returns the socket;
// throws cli_error with the reason: no phone, port closed (is the app running?), ...
int open_phone_port(const std::string& address, const std::string& udid, std::uint16_t port,
                    phone* chosen = nullptr);

}  // namespace tether::cli
