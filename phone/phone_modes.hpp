#pragma once
// States of a virtual phone that real phones have and the control socket sets
// (phone_controls), apart from the USB model so both can name them.
#include <cstdint>

namespace tether::sim {

enum class lock_mode : std::uint8_t {
  unlocked,
  locked,  // enumerates and answers control requests; the mux passes no data
  hidden,  // USB Restricted Mode: off the bus until unlocked (the bus adapter unplugs)
};

// When a phone whose host went away without a word (tetherd killed) sends the old
// session's packets: before or after its VERSION reply to the new host, or never.
enum class stale_order : std::uint8_t { none, before, after };

}  // namespace tether::sim
