#include "phone/control_commands.hpp"

#include <cstdlib>
#include <sstream>

namespace tether::sim {
namespace {

// app suspend|resume|kill PORT [N]: the app's lifecycle (app_lifecycle.hpp), phone N
// (default 1).
std::string run_app_command(std::istringstream& in, std::span<phone_controls* const> phones,
                            const std::function<void(const std::string&)>& done) {
  std::string action, port_word;
  in >> action >> port_word;
  const auto state = app_state_from_verb(action);
  char* end = nullptr;
  const long port = std::strtol(port_word.c_str(), &end, 10);
  if (!state || port_word.empty() || *end != '\0' || port < 1 || port > 65535)
    return "error: say what the app does and its port: 'app suspend|resume|kill PORT [N]' "
           "(e.g. 'app suspend 2350')\n";
  int n = 1;
  if (std::string rest; in >> rest) {
    n = std::atoi(rest.c_str());
    if (n < 1 || n > static_cast<int>(phones.size()) || rest != std::to_string(n))
      return "error: say which phone, 1 to " + std::to_string(phones.size()) +
             " (e.g. 'app suspend 2350 1')\n";
  }
  if (phones.empty()) return "error: there is no phone\n";
  phone_controls& p = *phones[static_cast<std::size_t>(n - 1)];
  std::string error;
  if (!p.set_app_state(static_cast<std::uint16_t>(port), *state, error))
    return "error: " + error + "\n";
  if (done)
    done("phone " + std::to_string(n) + " " + p.udid() + ": app " + action + " " + port_word);
  return "ok\n";
}

}  // namespace

std::string run_phone_command(const std::string& line, std::span<phone_controls* const> phones,
                              const std::function<void(const std::string&)>& done) {
  std::istringstream in(line);
  std::string verb;
  int n = 0;
  in >> verb;
  if (verb == "list") {
    std::string out;
    for (std::size_t i = 0; i < phones.size(); ++i)
      out += std::to_string(i + 1) + " " + phones[i]->udid() +
             (phones[i]->plugged() ? " plugged\n" : " unplugged\n");
    return out + "ok\n";
  }
  if (verb == "app") return run_app_command(in, phones, done);
  if (!(in >> n) || n < 1 || n > static_cast<int>(phones.size()))
    return "error: say which phone, 1 to " + std::to_string(phones.size()) + " (e.g. 'unplug 1')\n";
  phone_controls& p = *phones[static_cast<std::size_t>(n - 1)];
  std::string error;
  std::string arg;
  in >> arg;
  if (verb == "unplug") {
    p.unplug();
  } else if (verb == "stall") {
    if (arg != "in" && arg != "out")
      return "error: say which endpoint: 'stall N in' or 'stall N out'\n";
    p.stall(arg == "in");
  } else if (verb == "delay") {
    char* end = nullptr;
    const long ms = std::strtol(arg.c_str(), &end, 10);
    if (arg.empty() || *end != '\0' || ms < 0)
      return "error: 'delay N MS' takes milliseconds, e.g. 'delay 1 50'\n";
    p.set_delay(std::chrono::milliseconds(ms));
  } else if (verb == "drop") {
    p.drop();
  } else if (verb == "garbage") {
    p.inject_garbage();
  } else if (verb == "reset") {
    p.reset_connections();
  } else if (verb == "stale") {
    p.inject_stale_packet(2345, 0xfefe);  // a host port no daemon has handed out yet
  } else if (verb == "stats") {
    return p.stats() + "\nok\n";
  } else if (verb == "mute" || verb == "unmute") {
    p.set_version_muted(verb == "mute");
  } else if (verb == "lock" || verb == "unlock") {
    if (verb == "lock" && !arg.empty() && arg != "hidden")
      return "error: 'lock N' or 'lock N hidden' (USB Restricted Mode: off the bus)\n";
    p.set_lock(verb == "unlock"  ? lock_mode::unlocked
               : arg == "hidden" ? lock_mode::hidden
                                 : lock_mode::locked);
  } else if (verb == "texts") {
    if (arg != "on" && arg != "off") return "error: 'texts N on' or 'texts N off'\n";
    p.set_control_texts(arg == "on");
  } else if (verb == "reenumerate") {
    if (!p.reenumerate(error)) return "error: " + error + "\n";
  } else if (verb == "version") {
    p.send_version();
  } else if (verb == "restart-stale") {
    if (arg != "before" && arg != "after" && arg != "none")
      return "error: 'restart-stale N before|after|none': when the old session's packets go "
             "to a new host, against its VERSION reply\n";
    p.set_stale_order(arg == "before"  ? stale_order::before
                      : arg == "after" ? stale_order::after
                                       : stale_order::none);
  } else if (verb == "plug" || verb == "replug") {
    if (verb == "replug") p.unplug();
    if (!p.plug(error)) return "error: " + error + "\n";
  } else {
    return "error: unknown command '" + verb +
           "' (list, plug N, unplug N, replug N, stall N in|out, delay N MS, drop N, garbage N, "
           "mute N, unmute N, reset N, stale N, stats N, app suspend|resume|kill PORT [N], "
           "lock N [hidden], unlock N, texts N on|off, restart-stale N before|after|none, "
           "version N, reenumerate N)\n";
  }
  if (done) done("phone " + std::to_string(n) + " " + p.udid() + ": " + verb);
  return "ok\n";
}

}  // namespace tether::sim
