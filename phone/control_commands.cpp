#include "phone/control_commands.hpp"

#include <cstdlib>
#include <sstream>

#include "phone/lockdown_responder.hpp"

namespace tether::sim {

const char* const trust_command_help =
    "                      and the phone's lockdownd (pairing):\n"
    "                        lock N passcode  the screen locked: Pair answers\n"
    "                                         PasswordProtected, the mux works on\n"
    "                        unlock N         unlocked (also after lock N [hidden])\n"
    "                        trust accept N | trust deny N   answer the Trust dialog\n"
    "                                         (Don't Trust holds until a replug)\n"
    "                        trust auto N SECONDS|off   accept every dialog once up\n"
    "                                         SECONDS (0: pair with no dialog)\n"
    "                        trust reenumerate N on|off  Trust makes the phone leave\n"
    "                                         the bus and come back at a new address\n"
    "                        trust forget N   forget every host (InvalidHostID)\n"
    "                        trust status N   the dialog, the hosts trusted, the lock\n";

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

const char* const trust_usage =
    "error: 'trust accept|deny|forget|status N', 'trust auto N SECONDS|off' or "
    "'trust reenumerate N on|off'\n";

// trust VERB N [ARG]: the Trust dialog and the hosts phone N trusts.
std::string run_trust_command(std::istringstream& in, std::span<phone_controls* const> phones,
                              const std::function<void(const std::string&)>& done) {
  std::string action, which, arg;
  in >> action >> which >> arg;
  const int n = std::atoi(which.c_str());
  if (n < 1 || n > static_cast<int>(phones.size()) || which != std::to_string(n))
    return "error: say which phone, 1 to " + std::to_string(phones.size()) +
           " (e.g. 'trust accept 1')\n";
  phone_controls& p = *phones[static_cast<std::size_t>(n - 1)];
  std::string error;
  bool answered = false, reenumerate = false;
  if (action == "accept" || action == "deny") {
    if (!arg.empty()) return trust_usage;
    p.with_trust([&](phone_trust& t) {
      answered = action == "accept" ? t.accept(error) : t.deny(error);
      reenumerate = answered && action == "accept" && t.reenumerate_on_accept();
    });
    if (!answered) return "error: " + error + "\n";
    // As phones that reset their USB on Trust: the host's next Pair, on the new
    // address, succeeds.
    if (reenumerate && !p.reenumerate(error))
      return "error: accepted, but the phone did not come back: " + error + "\n";
  } else if (action == "auto") {
    char* end = nullptr;
    const long seconds = std::strtol(arg.c_str(), &end, 10);
    if (arg != "off" && (arg.empty() || *end != '\0' || seconds < 0))
      return "error: 'trust auto N SECONDS' (0: no dialog at all) or 'trust auto N off'\n";
    std::optional<phone_trust::clock::duration> after;
    if (arg != "off") after = std::chrono::seconds(seconds);
    p.with_trust([&](phone_trust& t) { t.set_auto_accept(after); });
  } else if (action == "reenumerate") {
    if (arg != "on" && arg != "off") return "error: 'trust reenumerate N on|off'\n";
    p.with_trust([&](phone_trust& t) { t.set_reenumerate_on_accept(arg == "on"); });
  } else if (action == "forget" && arg.empty()) {
    p.with_trust([](phone_trust& t) { t.forget_hosts(); });
  } else if (action == "status" && arg.empty()) {
    std::string line;
    p.with_trust([&](phone_trust& t) { line = t.status(); });
    return line + "\nok\n";
  } else {
    return trust_usage;
  }
  if (done)
    done("phone " + std::to_string(n) + " " + p.udid() + ": trust " + action +
         (arg.empty() ? "" : " " + arg));
  return "ok\n";
}

}  // namespace

void run_trust_timers(std::span<phone_controls* const> phones,
                      const std::function<void(const std::string&)>& done) {
  for (std::size_t i = 0; i < phones.size(); ++i) {
    phone_controls& p = *phones[i];
    bool accepted = false, reenumerate = false;
    p.with_trust([&](phone_trust& t) {
      accepted = t.accept_if_due();
      reenumerate = accepted && t.reenumerate_on_accept();
    });
    if (!accepted) continue;
    std::string error;
    const std::string who = "phone " + std::to_string(i + 1) + " " + p.udid();
    if (reenumerate && !p.reenumerate(error)) {
      if (done) done(who + ": trusted automatically, but did not come back: " + error);
    } else if (done) {
      done(who + ": trusted automatically");
    }
  }
}

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
  if (verb == "trust") return run_trust_command(in, phones, done);
  if (!(in >> n) || n < 1 || n > static_cast<int>(phones.size()))
    return "error: say which phone, 1 to " + std::to_string(phones.size()) + " (e.g. 'unplug 1')\n";
  phone_controls& p = *phones[static_cast<std::size_t>(n - 1)];
  std::string error;
  std::string arg;
  in >> arg;
  // Pulling the cable dismisses the dialog and ends "Don't Trust" (libimobiledevice#693).
  if (verb == "unplug" || verb == "replug" || verb == "drop")
    p.with_trust([](phone_trust& t) { t.replugged(); });
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
  } else if (verb == "lock" && arg == "passcode") {
    // The screen locked: the mux works on, Pair answers PasswordProtected.
    p.with_trust([](phone_trust& t) { t.set_passcode_locked(true); });
  } else if (verb == "lock" || verb == "unlock") {
    if (verb == "lock" && !arg.empty() && arg != "hidden")
      return "error: 'lock N', 'lock N hidden' (USB Restricted Mode: off the bus) or "
             "'lock N passcode' (the screen locked: Pair answers PasswordProtected)\n";
    if (verb == "unlock") p.with_trust([](phone_trust& t) { t.set_passcode_locked(false); });
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
           "lock N [hidden|passcode], unlock N, texts N on|off, "
           "restart-stale N before|after|none, version N, reenumerate N, "
           "trust accept|deny|forget|status N, trust auto N SECONDS|off, "
           "trust reenumerate N on|off)\n";
  }
  if (done) done("phone " + std::to_string(n) + " " + p.udid() + ": " + verb);
  return "ok\n";
}

}  // namespace tether::sim
