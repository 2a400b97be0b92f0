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
  plist_t req = connect_request(p, port);
  check_connect_result(result_number(c.request(req).get()), p.udid, port);
  return c.release();
}

plist_t connect_request(const phone& p, std::uint16_t port) {
  plist_t req = plist_new_dict();
  plist_dict_set_item(req, "MessageType", plist_new_string("Connect"));
  plist_dict_set_item(req, "DeviceID", plist_new_uint(p.device_id));
  // Clients send the port in network byte order, as an integer.
  plist_dict_set_item(req, "PortNumber",
                      plist_new_uint(static_cast<std::uint16_t>((port >> 8) | (port << 8))));
  return req;
}

void check_connect_result(std::uint64_t result, const std::string& udid, std::uint16_t port) {
  switch (result) {
    case 0: return;
    case 3:
      throw cli_error(port_closed, "port " + std::to_string(port) + " is closed on " + udid +
                                       ": is the app running and listening?");
    case 2:
      throw cli_error(no_phone, "phone " + udid + " went away before the connection was made");
    default:
      throw cli_error(failed, "the daemon refused the connection to port " + std::to_string(port) +
                                  " on " + udid + " (result " + std::to_string(result) + ")");
  }
}

}  // namespace tether::cli
