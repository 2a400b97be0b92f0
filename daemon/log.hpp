#pragma once
// One line per event, with a level: "tetherd: info: attached ...". The level can be
// changed while running (TetherSetLogLevel), and libusb's own messages come through
// here too, at the level that matches.
#include <functional>
#include <optional>
#include <string>

namespace tether::daemon::log {

enum class level { error, warn, info, debug };

void set_level(level l);
level current();
std::optional<level> parse_level(const std::string& name);
// Called after every set_level (tetherd uses it to keep libusb's level in step).
void on_level_change(std::function<void(level)> hook);
void write(level l, const std::string& line);
// Sends lines to syslog instead of stderr (a daemonized tetherd without --logfile).
void use_syslog();

inline void error(const std::string& s) { write(level::error, s); }
inline void warn(const std::string& s) { write(level::warn, s); }
inline void info(const std::string& s) { write(level::info, s); }
inline void debug(const std::string& s) { write(level::debug, s); }

}  // namespace tether::daemon::log
