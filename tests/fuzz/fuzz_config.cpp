// Fuzz target: tetherd's configuration file (tetherd.conf), as read at start-up. Any
// text must parse or be rejected with a message naming the line; never crash.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "daemon/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto parsed = tether::daemon::parse_config(text);
  if (auto* error = std::get_if<std::string>(&parsed)) {
    if (error->empty()) std::abort();  // every rejection says why
  } else {
    const auto& c = std::get<tether::daemon::config>(parsed);
    if (c.forwards.size() > tether::daemon::max_config_forwards) std::abort();
    for (const auto& f : c.forwards)
      if (f.phone_port == 0 || f.name.empty()) std::abort();
  }
  return 0;
}
