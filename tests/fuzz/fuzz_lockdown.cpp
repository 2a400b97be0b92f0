// Fuzz target: lockdown's wire, both ways. What a phone's lockdownd sends to tetherd
// while it pairs: the input is split into chunks at its 0xFF bytes and fed to a
// pairing_flow, one received() per chunk, between ticks. And what a host sends to the
// virtual phone's lockdownd (phone/lockdown_responder), the same chunks. Any bytes must
// end in a state with words or a dropped connection with a reason: never a crash, never
// more buffered than one message.
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <span>

#include "pairing/pairing_flow.hpp"
#include "phone/lockdown_responder.hpp"
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

  static auto trust = std::make_shared<sim::phone_trust>(sim::phone_trust::clock::now, 1024);
  sim::lockdown_responder phone(sim::lockdown_identity{"00008120-FUZZ"}, trust);
  start = 0;
  for (std::size_t i = 0; i <= size; ++i) {
    if (i < size && data[i] != 0xFF) continue;
    const auto fed = phone.feed(bytes.subspan(start, i - start));
    (void)phone.take_output();
    if (!fed) {
      if (fed.describe().empty()) std::abort();  // a dropped connection says why
      break;
    }
    start = i + 1;
  }
  return 0;
}
