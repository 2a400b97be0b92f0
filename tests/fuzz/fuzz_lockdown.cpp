// Fuzz target: what a phone's lockdownd sends to tetherd while it pairs. The input is
// split into chunks at its 0xFF bytes and fed to a pairing_flow, one received() per
// chunk, between ticks; any bytes must end in a state with words (never a crash, never
// more buffered than one message), as must the framing on its own.
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <span>

#include "pairing/pairing_flow.hpp"
#include "proto/lockdown/messages.hpp"

namespace {

using namespace tether;

const pairing::host_identity& host() {
  // Small keys: the target is the parsing, and keys are made once per process.
  static const pairing::host_identity id = *pairing::host_identity::generate(1024);
  return id;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto bytes = std::as_bytes(std::span(data, size));
  proto::lockdown::message_reader reader;
  if (reader.feed(bytes)) {
    while (reader.next()) {
    }
    if (reader.buffered() > proto::lockdown::max_message + 4) std::abort();
  }
  pairing::pairing_flow flow("00008120-FUZZ", "BUID", host(), {});
  auto now = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);
  (void)flow.connected(now);
  std::size_t start = 0;
  for (std::size_t i = 0; i <= size; ++i) {
    if (i < size && data[i] != 0xFF) continue;
    (void)flow.received(bytes.subspan(start, i - start), now);
    now += std::chrono::seconds(2);
    (void)flow.tick(now);
    start = i + 1;
  }
  if (flow.describe(now).empty()) std::abort();
  return 0;
}
