#include "tools/gadget/log.hpp"

#include <cstdio>

namespace tether::gadget::log {

void line(const char* level, const std::string& what) {
  // One fprintf per line: lines from the I/O threads do not interleave.
  std::fprintf(stderr, "tether-gadget: %s: %s\n", level, what.c_str());
}

}  // namespace tether::gadget::log
