#pragma once
// tetherd's own requests (proto/tetherd/control.hpp) from the CLI's side: sends one, typed,
// and returns the reply, turning BADCOMMAND from the reference usbmuxd into "not
// tetherd" and any other error into its words. Replies are read with proto/tetherd's
// decoders, which share their field lists with the daemon's encoders.
#include <string>

#include "base/result.hpp"

#include "proto/tetherd/control.hpp"
#include "tools/cli/cli_error.hpp"
#include "tools/cli/mux_client.hpp"

namespace tether::cli {

proto::plist_ptr tetherd_request(mux_client& c, const proto::tetherd::request& request,
                                 const std::string& what);

// A decoded reply, or the decoder's words as a failure.
template <class T>
T decoded(base::result<T> reply, const std::string& what) {
  if (!reply)
    throw cli_error(failed, "tetherd's answer to " + what + " makes no sense: " + reply.describe());
  return std::move(reply).value();
}

}  // namespace tether::cli
