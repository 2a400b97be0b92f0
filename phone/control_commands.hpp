#pragma once
// The control socket's language, one command per line, shared by tether-sim and
// tether-gadget. Each reply ends in a line "ok" or "error: WHAT".
//   list | plug N | unplug N | replug N
//   stall N in|out | delay N MS | drop N | garbage N | mute N | unmute N | reset N
//   stale N | stats N
//   app suspend|resume|kill PORT [N]   (the app's lifecycle; N defaults to 1)
//   lock N [hidden|passcode] | unlock N
//   trust accept|deny|forget|status N | trust auto N SECONDS|off | trust reenumerate N on|off
#include <functional>
#include <span>
#include <string>

#include "phone/phone_controls.hpp"

namespace tether::sim {

// Runs one command on `phones` (numbered from 1) and returns the reply. `done` hears
// "phone N UDID: VERB" after each command that changed something.
std::string run_phone_command(const std::string& line, std::span<phone_controls* const> phones,
                              const std::function<void(const std::string&)>& done);

// The help lines of the lock and trust commands, for both programs' --help.
extern const char* const trust_command_help;

// The Trust dialog's auto-accept ("trust auto N SECONDS"), for the program's main loop
// to call a few times a second: accepts every dialog that has been up long enough and
// re-enumerates the phones that do so on Trust. `done` hears what happened.
void run_trust_timers(std::span<phone_controls* const> phones,
                      const std::function<void(const std::string&)>& done);

}  // namespace tether::sim
