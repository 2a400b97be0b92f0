#pragma once
// One line per event, with a level: "tether-camera: info: phone 00008120-...: connected".
// Safe from any thread (one fprintf per line).
#include <atomic>
#include <cstdio>
#include <string>

namespace tether::camera::log {

enum class level { error, warn, info, debug };

inline std::atomic<level> threshold{level::info};
// Who speaks: tether-sim runs these sessions too, as its phone's camera app.
inline const char* program = "tether-camera";

inline void write(level l, const std::string& line) {
  if (l > threshold) return;
  static constexpr const char* names[] = {"error", "warning", "info", "debug"};
  std::fprintf(stderr, "%s: %s: %s\n", program, names[static_cast<int>(l)], line.c_str());
}
inline void error(const std::string& s) { write(level::error, s); }
inline void warn(const std::string& s) { write(level::warn, s); }
inline void info(const std::string& s) { write(level::info, s); }
inline void debug(const std::string& s) { write(level::debug, s); }

}  // namespace tether::camera::log
