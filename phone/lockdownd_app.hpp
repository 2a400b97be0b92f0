#pragma once
// The virtual phone's lockdownd on port 62078: one lockdown_responder per connection,
// all sharing the phone's trust (its key, the hosts it trusts, the Trust dialog, the
// passcode lock). It answers QueryType and GetValue as any phone does, pairs as
// lockdown_responder.hpp describes, runs TLS sessions for trusted hosts, and refuses
// the rest with an error a client can show.
#include <memory>

#include "phone/lockdown_responder.hpp"
#include "phone/phone_apps.hpp"

namespace tether::sim {

std::unique_ptr<phone_app> make_lockdownd_app(lockdown_identity id,
                                              std::shared_ptr<phone_trust> trust);

inline constexpr std::uint16_t lockdownd_port = proto::lockdown::port;

}  // namespace tether::sim
