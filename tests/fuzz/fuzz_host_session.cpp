// Fuzz target: the host session, as tetherd drives it, against a phone whose byte
// stream is the fuzz input (seeds are recorded phone->host traffic). The host
// connects to the ports the seeds use once the handshake completes.
#include <cstdint>

#include "session_driver.hpp"
#include "usbmux/core/host_session.hpp"

using namespace tether::usbmux;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  session_options o;
  o.max_connections = 16;
  host_session host(o);
  time_point now{};
  host.start(now);
  std::vector<conn_id> ids;
  fuzz::serve(host, ids, now);
  auto in = std::as_bytes(std::span(data, size));
  // The handshake reply is 20 bytes; connect as soon as it is in.
  const std::size_t first = std::min<std::size_t>(in.size(), 20);
  if (!host.receive(in.first(first))) {
    for (std::uint16_t port : {std::uint16_t{62078}, std::uint16_t{2345}, std::uint16_t{9999}})
      (void)host.connect(port, now);
  }
  fuzz::serve(host, ids, now);
  fuzz::feed(host, in.subspan(first), ids, now);
  return 0;
}
