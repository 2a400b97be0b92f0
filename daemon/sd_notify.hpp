#pragma once
// systemd's readiness protocol (sd_notify(3)): one datagram to $NOTIFY_SOCKET. The
// protocol is small and stable, and speaking it directly keeps libsystemd off boards
// that boot without systemd. Does nothing when $NOTIFY_SOCKET is unset.
#include <string>

namespace tether::daemon {

// Sends e.g. "READY=1\nSTATUS=serving 1 phone". Returns false if it could not.
bool sd_notify(const std::string& state);

}  // namespace tether::daemon
