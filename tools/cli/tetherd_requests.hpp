#pragma once
// tetherd's own requests (proto/tetherd/control.hpp) from the CLI's side: sends one
// and returns the reply, turning BADCOMMAND from the reference usbmuxd into "not
// tetherd" and any other error into its words.
#include <string>

#include "tools/cli/mux_client.hpp"

namespace tether::cli {

proto::plist_ptr tetherd_request(mux_client& c, plist_t request, const std::string& what);

}  // namespace tether::cli
