#pragma once
// What every client of tetherd's socket may reach: the phones, the pair records, the
// system BUID, the port forwards, and the log's memory of lines that repeat across
// clients (a closed port asked for every 2 s by a new client each time).
#include <string>

#include "base/repeat_limiter.hpp"
#include "daemon/device_registry.hpp"
#include "daemon/limits.hpp"
#include "daemon/pair_records.hpp"

namespace tether::daemon {

class forward_table;
class pairing_service;
class reverse_table;

struct daemon_context {
  device_registry& devices;
  const pair_records& records;
  std::string buid;
  forward_table& forwards;
  base::repeat_limiter& repeats;
  pairing_service* pairing = nullptr;  // absent in tests that need no pairing
  reverse_table* reverses = nullptr;   // absent in tests that need no reverse channels
  daemon_limits limits{};
};

}  // namespace tether::daemon
