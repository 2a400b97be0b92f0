// Fuzz target: the device session (the virtual iPhone's engine) against a host
// whose byte stream is the fuzz input (seeds are recorded host->phone traffic).
#include <cstdint>

#include "session_driver.hpp"
#include "usbmux/core/device_session.hpp"

using namespace tether::usbmux;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  device_options o;
  o.max_connections = 16;
  o.refused_reason = "closed";
  device_session phone(o);
  phone.listen(62078);
  phone.listen(2345);
  time_point now{};
  std::vector<conn_id> ids;
  fuzz::feed(phone, std::as_bytes(std::span(data, size)), ids, now);
  return 0;
}
