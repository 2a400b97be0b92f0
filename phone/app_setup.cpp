#include "phone/app_setup.hpp"

#include <filesystem>
#include <string>

#include "phone/camera_app.hpp"
#include "phone/camera_controller_app.hpp"
#include "phone/chat_app.hpp"
#include "phone/lockdownd_app.hpp"

namespace tether::sim {

void add_apps(virtual_phone& phone, const app_options& o) {
  const std::string udid = udid_from_serial(phone.identity().serial);
  phone.add_app(lockdownd_port, make_lockdownd_app({udid}, phone.shared_trust()));
  for (const auto& [port, what] : o.apps) {
    if (what == "echo") {
      phone.add_app(port, make_echo_app());
    } else if (what == "sink") {
      phone.add_app(port, make_sink_app());
    } else if (what == "source") {
      phone.add_app(port, make_source_app(o.source_bytes));
    } else if (what == "controller") {
      phone.add_app(port, make_camera_controller_app(
                              {o.record.empty() ? std::filesystem::path()
                                                : std::filesystem::path(o.record) / udid}));
    } else if (what == "camera") {
      phone.add_app(port, make_camera_app({}));
    } else if (what.starts_with(chat_prefix)) {  // checked by parse_app_option
      phone.add_app(port, make_chat_app(what.substr(chat_prefix.size()), udid));
    } else {  // HOST:PORT, checked by parse_app_option
      const auto colon = what.rfind(':');
      phone.add_app(
          port, make_tcp_relay_app(what.substr(0, colon),
                                   static_cast<std::uint16_t>(std::stoi(what.substr(colon + 1)))));
    }
  }
}

}  // namespace tether::sim
