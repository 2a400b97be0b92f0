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
// The Connect request to `port` on `p` (the daemon takes the port in network byte order).
plist_t connect_request(const phone& p, std::uint16_t port);
// Throws cli_error for a Connect reply's result other than 0: port closed (is the app
// running?), phone gone, or refused.
void check_connect_result(std::uint64_t result, const std::string& udid, std::uint16_t port);

}  // namespace tether::cli
