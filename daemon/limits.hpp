#pragma once
// tetherd's limits in one place, each with the default it runs with. Every one bounds
// memory or descriptors that a client could otherwise grow without end; the daemon's
// in-process tests check each at its edge (tests/daemon/limits_test.cpp).
#include <cstddef>

namespace tether::daemon {

struct daemon_limits {
  // Clients speaking the usbmuxd protocol at once (Listen and command sockets; a
  // Connect's relay no longer counts, the phone's session bounds those). The next one
  // is answered with the reason and closed; the log says so once, then in summaries.
  std::size_t max_clients = 256;
  // Unwritten Attached/Detached/Paired messages a Listen client may leave behind before
  // it is dropped (backpressure cannot hold events back, as it holds replies).
  std::size_t max_queued_events = 1024;
  // A client's requests are not read while this many bytes of replies wait for it.
  std::size_t read_pause_bytes = 64 * 1024;
  // The largest read from, and write to, a relayed socket.
  std::size_t relay_chunk = 64 * 1024;
};

}  // namespace tether::daemon
