#pragma once
// What every client of tetherd's socket may reach: the phones, the pair records, the
// system BUID and the port forwards.
#include <string>

#include "daemon/device_registry.hpp"
#include "daemon/pair_records.hpp"

namespace tether::daemon {

class forward_table;

struct daemon_context {
  device_registry& devices;
  const pair_records& records;
  std::string buid;
  forward_table& forwards;
};

}  // namespace tether::daemon
