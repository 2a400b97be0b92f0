// Fuzz target: the virtual PTP camera's responder as a host drives it, the bulk OUT
// stream cut into transfers anywhere. It must never crash, answer every command it
// accepts with well-formed containers of that transaction (at most a data phase and a
// response), and keep its event queue bounded, whatever the host sends.
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "tools/sim/ptp/nikon_d750.hpp"

using namespace tether::sim::ptp;

namespace {

bytes small(std::uint64_t n) { return bytes(static_cast<std::size_t>(n % 700), std::byte{0x42}); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  // Pictures are made of plain bytes: the JPEG encoder is not what is under test.
  ptp_responder cam(nikon_d750(30), {small, small});
  const auto in = std::as_bytes(std::span(data, size)).subspan(1);
  auto now = ptp_responder::clock::time_point{} + std::chrono::hours(1);
  // The first byte picks the transfer size: 1 to 256 bytes at a time.
  const std::size_t step = std::size_t{data[0]} + 1;
  for (std::size_t at = 0; at < in.size(); at += step) {
    cam.receive(in.subspan(at, std::min(step, in.size() - at)), now);
    now += std::chrono::milliseconds(data[0] % 50);
    std::size_t containers = 0;
    while (cam.in_pending()) {
      const auto front = cam.in_front();
      if (front.size() != cam.in_front_length()) std::abort();  // nothing sent yet
      const auto c = decode(front);
      if (!c || (c->type != container_type::data && c->type != container_type::response))
        std::abort();
      cam.consume(front.size());
      if (++containers > 2 * (step / header_size + 1)) std::abort();  // a reply per command
    }
    while (cam.take_event()) {
    }
  }
  return 0;
}
