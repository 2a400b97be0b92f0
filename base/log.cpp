#include "base/log.hpp"

#include <syslog.h>

#include <atomic>
#include <cstdio>

namespace tether::log {
namespace {
std::atomic<level> threshold{level::info};
std::function<void(level)> level_hook;
std::string program = "tether";
bool to_syslog = false;

const char* name(level l) {
  switch (l) {
    case level::error: return "error";
    case level::warn: return "warning";
    case level::info: return "info";
    case level::debug: return "debug";
  }
  return "?";
}
}  // namespace

void set_program(std::string n) { program = std::move(n); }

void set_level(level l) {
  threshold = l;
  if (level_hook) level_hook(l);
}
level current() { return threshold; }

std::optional<level> parse_level(const std::string& n) {
  if (n == "error") return level::error;
  if (n == "warn" || n == "warning") return level::warn;
  if (n == "info") return level::info;
  if (n == "debug") return level::debug;
  return std::nullopt;
}

void on_level_change(std::function<void(level)> hook) { level_hook = std::move(hook); }

void use_syslog() {
  // openlog keeps the pointer: program must not change afterwards.
  ::openlog(program.c_str(), LOG_PID, LOG_DAEMON);
  to_syslog = true;
}

void write(level l, const std::string& line) {
  if (l > threshold) return;
  if (to_syslog) {
    constexpr int priority[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
    ::syslog(priority[static_cast<int>(l)], "%s", line.c_str());
    return;
  }
  // One fprintf per line: lines from several threads never interleave.
  std::fprintf(stderr, "%s: %s: %s\n", program.c_str(), name(l), line.c_str());
}

}  // namespace tether::log
