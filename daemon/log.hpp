#pragma once
// One line per event, with a level: "tetherd: info: attached ...". The level can be
// changed while running.
#include <string>

namespace tether::daemon::log {

enum class level { error, warn, info, debug };

void set_level(level l);
level current();
void write(level l, const std::string& line);

inline void error(const std::string& s) { write(level::error, s); }
inline void warn(const std::string& s) { write(level::warn, s); }
inline void info(const std::string& s) { write(level::info, s); }
inline void debug(const std::string& s) { write(level::debug, s); }

}  // namespace tether::daemon::log
