#pragma once
// The one log of every tether program: one line per event, "PROGRAM: LEVEL: what"
// ("tetherd: info: attached ...", "tether-camera: warning: ..."). Safe from any thread:
// each line is one fprintf (or one syslog call), so lines from several threads never
// interleave. The level can change while running; a hook follows it (tetherd keeps
// libusb's level in step).
#include <functional>
#include <optional>
#include <string>

namespace tether::log {

enum class level { error, warn, info, debug };

// Who speaks, at the start of every line. Set once, before any other thread logs.
void set_program(std::string name);

void set_level(level l);
level current();
std::optional<level> parse_level(const std::string& name);
// Called after every set_level.
void on_level_change(std::function<void(level)> hook);
// Sends lines to syslog, under the program's name, instead of stderr (a daemonized
// tetherd without --logfile).
void use_syslog();

void write(level l, const std::string& line);
inline void error(const std::string& s) { write(level::error, s); }
inline void warn(const std::string& s) { write(level::warn, s); }
inline void info(const std::string& s) { write(level::info, s); }
inline void debug(const std::string& s) { write(level::debug, s); }

}  // namespace tether::log
