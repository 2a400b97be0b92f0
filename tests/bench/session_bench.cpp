// Engine cost on one core: a host session and a device session joined by the
// in-memory link, one established connection, and nothing else in the loop. Each
// iteration is one write, carried to the other side, read, consumed and acknowledged,
// so the figures include both ends' work (framing, seq/ack, copies, ACK generation).
//
// Targets: >= 2 GB/s of payload for 64 KiB writes; <= 1 us per 512-byte write.
#include <benchmark/benchmark.h>

#include <vector>

#include "usbmux/core/device_session.hpp"
#include "usbmux/core/host_session.hpp"
#include "usbmux/testing/memory_link.hpp"

using namespace tether::usbmux;

namespace {

struct pair_fixture {
  host_session host;
  device_session phone;
  testing::memory_link link{host, phone};
  conn_id host_id = 0;
  conn_id phone_id = 0;

  pair_fixture() {
    phone.listen(2345);
    host.start({});
    link.pump();
    host_id = *host.connect(2345, {});
    link.pump();
    while (auto e = phone.poll_event())
      if (auto* a = std::get_if<events::accepted>(&*e)) phone_id = a->id;
    while (host.poll_event()) {
    }
  }
};

// One write from `from`, delivered and consumed by `to`, ACK returned.
void transfer(benchmark::State& state, bool host_to_phone) {
  pair_fixture f;
  const std::vector<std::byte> payload(static_cast<std::size_t>(state.range(0)), std::byte{0x42});
  session& from = host_to_phone ? static_cast<session&>(f.host) : f.phone;
  session& to = host_to_phone ? static_cast<session&>(f.phone) : f.host;
  const conn_id from_id = host_to_phone ? f.host_id : f.phone_id;
  const conn_id to_id = host_to_phone ? f.phone_id : f.host_id;
  std::uint64_t delivered = 0;
  for (auto _ : state) {
    std::size_t off = 0;
    while (off < payload.size()) {
      off += *from.send(from_id, std::span(payload).subspan(off));
      f.link.pump();
      const auto got = to.received(to_id);
      delivered += got.size();
      benchmark::DoNotOptimize(got.data());
      to.consume(to_id, got.size());
      f.link.pump();
    }
    while (to.poll_event()) {
    }
    while (from.poll_event()) {
    }
  }
  if (delivered != payload.size() * static_cast<std::uint64_t>(state.iterations()))
    state.SkipWithError("bytes lost");
  state.SetBytesProcessed(static_cast<std::int64_t>(delivered));
  state.counters["packets/write"] = benchmark::Counter(
      static_cast<double>(f.host.stats().packets_sent + f.phone.stats().packets_sent) /
      static_cast<double>(state.iterations()));
}

void BM_HostToPhone(benchmark::State& state) { transfer(state, true); }
void BM_PhoneToHost(benchmark::State& state) { transfer(state, false); }

}  // namespace

BENCHMARK(BM_HostToPhone)->Arg(512)->Arg(64 * 1024);
BENCHMARK(BM_PhoneToHost)->Arg(512)->Arg(64 * 1024);

BENCHMARK_MAIN();
