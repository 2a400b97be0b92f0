#include "tools/cli/phone_port.hpp"

#include "tools/cli/cli_error.hpp"

namespace tether::cli {

int open_phone_port(const std::string& address, const std::string& udid, std::uint16_t port,
                    phone* chosen) {
  phone p;
  {
    mux_client lister(address);
    p = choose_phone(list_phones(lister), udid);
  }
  if (chosen != nullptr) *chosen = p;
  mux_client c(address);
  plist_t req = plist_new_dict();
  plist_dict_set_item(req, "MessageType", plist_new_string("Connect"));
  plist_dict_set_item(req, "DeviceID", plist_new_uint(p.device_id));
  // Clients send the port in network byte order, as an integer.
  plist_dict_set_item(req, "PortNumber",
                      plist_new_uint(static_cast<std::uint16_t>((port >> 8) | (port << 8))));
  const auto reply = c.request(req);
  switch (result_number(reply.get())) {
    case 0: return c.release();
    case 3:
      throw cli_error(port_closed, "port " + std::to_string(port) + " is closed on " + p.udid +
                                       ": is the app running and listening?");
    case 2:
      throw cli_error(no_phone, "phone " + p.udid + " went away before the connection was made");
    default:
      throw cli_error(failed, "the daemon refused the connection to port " + std::to_string(port) +
                                  " on " + p.udid + " (result " +
                                  std::to_string(result_number(reply.get())) + ")");
  }
}

}  // namespace tether::cli
