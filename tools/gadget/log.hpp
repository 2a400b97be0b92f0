#pragma once
// tether-gadget's log: one line per event on stderr, "tether-gadget: LEVEL: what".
// Debug lines (every ep0 event, every thread wake-up) only with -v.
#include <atomic>
#include <string>

namespace tether::gadget::log {

inline std::atomic<bool> verbose{false};

void line(const char* level, const std::string& what);
inline void error(const std::string& what) { line("error", what); }
inline void warning(const std::string& what) { line("warning", what); }
inline void info(const std::string& what) { line("info", what); }
inline void debug(const std::string& what) {
  if (verbose) line("debug", what);
}

}  // namespace tether::gadget::log
