// Fuzz target: tetherd's configuration file (tetherd.conf) and its saved forwards and
// reverses, as read at start-up. Any text must parse or be rejected with a message
// naming the line; never crash. What parses, written back (what tetherd saves), reads
// back the same.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "daemon/config.hpp"

namespace {

void check_saved_round_trip(const std::vector<tether::proto::tetherd::forward_spec>& forwards,
                            const std::vector<tether::proto::tetherd::reverse_spec>& reverses) {
  using namespace tether::daemon;
  auto again =
      parse_config(format_forwards(forwards) + format_reverses(reverses), sections::saved_only);
  const auto* c = again ? &*again : nullptr;
  if (c == nullptr || c->forwards.size() != forwards.size()) std::abort();
  if (c->reverses.size() != reverses.size()) std::abort();
  for (std::size_t i = 0; i < reverses.size(); ++i) {
    const auto &a = reverses[i], &b = c->reverses[i];
    if (a.name != b.name || a.local_address != b.local_address || a.local_port != b.local_port ||
        a.phone_port != b.phone_port || a.udid != b.udid || a.spares != b.spares)
      std::abort();
  }
  for (std::size_t i = 0; i < forwards.size(); ++i) {
    const auto &a = forwards[i], &b = c->forwards[i];
    if (a.name != b.name || a.bind_address != b.bind_address || a.local_port != b.local_port ||
        a.phone_port != b.phone_port || a.udid != b.udid)
      std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  (void)tether::daemon::parse_config(text, tether::daemon::sections::saved_only);
  auto parsed = tether::daemon::parse_config(text);
  if (!parsed) {
    if (parsed.detail().empty()) std::abort();  // every rejection says why
  } else {
    const auto& c = *parsed;
    if (c.forwards.size() > tether::daemon::max_config_forwards) std::abort();
    for (const auto& f : c.forwards)
      if (f.phone_port == 0 || f.name.empty()) std::abort();
    if (c.reverses.size() > tether::daemon::max_config_reverses) std::abort();
    for (const auto& r : c.reverses)
      if (r.phone_port == 0 || r.local_port == 0 || r.spares < 1 || r.spares > 8) std::abort();
    check_saved_round_trip(c.forwards, c.reverses);
  }
  return 0;
}
