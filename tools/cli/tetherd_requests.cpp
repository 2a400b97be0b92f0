#include "tools/cli/tetherd_requests.hpp"

namespace tether::cli {

proto::plist_ptr tetherd_request(mux_client& c, const proto::tetherd::request& request,
                                 const std::string& what) {
  auto reply = c.request(proto::tetherd::encode(request));
  const auto number = result_number(reply.get());
  if (number == 0) return reply;
  const auto error = proto::string_item(reply.get(), "Error");
  if (!error && number == 1)
    throw cli_error(not_tetherd, "the daemon at " + c.address() +
                                     " is not tetherd: usbmuxd cannot " + what +
                                     " (`tether forward run` works with any daemon)");
  throw cli_error(failed,
                  "cannot " + what + ": " + error.value_or("error " + std::to_string(number)));
}

}  // namespace tether::cli
