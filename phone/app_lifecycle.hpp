#pragma once
// What an iOS app behind a port is doing, as a real phone shows it to the host
// (research/real-phone.md §0 item 8, §7):
// - running: it accepts and answers;
// - suspended (in the background, or the screen locked): the kernel still accepts new
//   connections into the listener's backlog (SYN|ACK), but the app reads and writes
//   nothing on any of its connections, old or new, until it comes back;
// - killed: every connection is reset mid-stream and the port is refused (RST to SYN)
//   until the app is launched again.
#include <optional>
#include <string>

namespace tether::sim {

enum class app_state { running, suspended, killed };

inline std::optional<app_state> app_state_from_verb(const std::string& verb) {
  if (verb == "resume") return app_state::running;
  if (verb == "suspend") return app_state::suspended;
  if (verb == "kill") return app_state::killed;
  return std::nullopt;
}

}  // namespace tether::sim
