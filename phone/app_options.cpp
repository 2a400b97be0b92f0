#include "phone/app_options.hpp"

#include <cstdlib>

#include "phone/chat_app.hpp"

namespace tether::sim {

const char* const app_option_help =
    "  --app PORT=WHAT     what listens on PORT of every phone: echo, sink, source,\n"
    "                      controller (a scripted iOS app driving tether's camera\n"
    "                      protocol: hello, properties, live view, capture, download),\n"
    "                      camera (the phone plays the camera: tether's camera protocol\n"
    "                      with a 1280x720 test pattern at 30 fps, for `tether cam --phone`),\n"
    "                      chat:NAME (a client of a chat server on the board, through\n"
    "                      tetherd's reverse channel: it joins as NAME-XXXX, XXXX the\n"
    "                      UDID's last 4 characters, says 3 lines and logs all it hears;\n"
    "                      NAME is 1 to 24 letters, digits, - or _),\n"
    "                      or HOST:PORT, a TCP server on this machine that plays the\n"
    "                      iOS app (e.g. --app 2345=127.0.0.1:9000); repeatable\n";

const char* const default_apps_help =
    "Apps on every phone unless --app says otherwise: 62078 lockdownd (QueryType,\n"
    "GetValue, Pair with the Trust dialog, StartSession with TLS), 2345 echo, 2346 source,\n"
    "2347 sink; any other port refuses connections.\n";

bool parse_app_option(const std::string& value, app_options& o, std::string& error) {
  const auto eq = value.find('=');
  char* end = nullptr;
  const long port = eq == std::string::npos ? 0 : std::strtol(value.c_str(), &end, 10);
  const std::string what = eq == std::string::npos ? "" : value.substr(eq + 1);
  const auto colon = what.rfind(':');
  // chat:NAME before HOST:PORT: a host called "chat" is reached by its address.
  const bool chat = what.starts_with(chat_prefix);
  const bool known = what == "echo" || what == "sink" || what == "source" || what == "controller" ||
                     what == "camera" || chat ||
                     (colon != std::string::npos && colon + 1 < what.size());
  if (port < 1 || port > 65535 || end != value.c_str() + eq || !known) {
    error = "--app takes PORT=echo|sink|source|controller|camera|chat:NAME|HOST:PORT, not '" +
            value + "'";
    return false;
  }
  if (chat && !valid_chat_name(what.substr(chat_prefix.size()))) {
    error = "--app PORT=chat:NAME takes a NAME of 1 to " + std::to_string(chat_max_name) +
            " letters, digits, '-' or '_', not '" + value + "'";
    return false;
  }
  o.apps[static_cast<std::uint16_t>(port)] = what;
  return true;
}

}  // namespace tether::sim
