#pragma once
// tetherd's configuration file (INI, read with libinih), by default
// /etc/tether/tetherd.conf:
//
//   [tetherd]
//   group = plugdev                 ; socket mode 0660, this group
//   user = tether                   ; drop privileges to this user after start-up
//   log-level = info                ; error | warn | info | debug
//   allow-remote-forwards = no      ; forwards may listen beyond loopback only if yes
//   forward-give-up = 30            ; seconds a forward client waits for the phone
//   max-clients = 256               ; usbmuxd clients at once (limits.hpp)
//   pair = yes                      ; pair each phone that arrives (the Trust dialog)
//   trust-wait = 180                ; seconds the Trust dialog is waited for
//
//   [forward ssh]                   ; one section per forward; the name is its handle
//   local = 127.0.0.1:2222          ; or just a port; 0 picks a free one
//   phone-port = 22
//   udid = 00008030-001A2B3C4D5E6F70  ; optional: else the only phone attached
//
//   [reverse chat]                  ; the phone app's port reaches a service here
//   phone-port = 12345              ; the app listens on it; its accept is a connect
//   local = 127.0.0.1:12345         ; the board's service (or just a port)
//   spares = 2                      ; connections waiting on each phone, 1 to 8
//   udid = 00008030-001A2B3C4D5E6F70  ; optional: else every phone attached
//
// Comments start with ; or # at the start of a line, or ; after a value. A section
// with no keys is ignored. Command-line options win over the file.
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "base/result.hpp"
#include "daemon/limits.hpp"
#include "proto/tetherd/control.hpp"

namespace tether::daemon {

struct config {
  std::optional<std::string> group;
  std::optional<std::string> user;
  std::optional<std::string> log_level;
  bool allow_remote_forwards = false;
  int forward_give_up_seconds = 30;
  bool pair_automatically = true;
  int trust_wait_seconds = 180;
  std::size_t max_clients = daemon_limits{}.max_clients;
  std::vector<proto::tetherd::forward_spec> forwards;
  std::vector<proto::tetherd::reverse_spec> reverses;
};

inline constexpr std::size_t max_config_forwards = 256;
inline constexpr std::size_t max_config_reverses = 64;

enum class sections { all, saved_only };

// Parses the text of a configuration file; on error, says what and on which line.
// `saved_only` reads what tetherd saved (saved_forwards.hpp): the same format, [forward
// NAME] and [reverse NAME] sections alone.
base::result<config> parse_config(const std::string& text, sections which = sections::all);
// The [forward NAME] sections that parse_config reads back as `forwards` (which come
// sorted by name).
std::string format_forwards(const std::vector<proto::tetherd::forward_spec>& forwards);
// The same for [reverse NAME] sections, read back as `reverses`.
std::string format_reverses(const std::vector<proto::tetherd::reverse_spec>& reverses);
// Reads and parses a file; a missing file is an empty configuration when `optional`.
base::result<config> load_config(const std::string& path, bool optional);

}  // namespace tether::daemon
