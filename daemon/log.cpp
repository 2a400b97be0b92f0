#include "daemon/log.hpp"

#include <atomic>
#include <cstdio>

namespace tether::daemon::log {
namespace {
std::atomic<level> threshold{level::info};
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

void set_level(level l) { threshold = l; }
level current() { return threshold; }

void write(level l, const std::string& line) {
  if (l > threshold) return;
  std::fprintf(stderr, "tetherd: %s: %s\n", name(l), line.c_str());
}

}  // namespace tether::daemon::log
