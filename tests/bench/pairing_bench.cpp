// What pairing costs the host: making its keys once (two RSA-2048 keys and their
// certificates), a device certificate per new phone, and a TLS handshake per check of
// a stored record. Google Benchmark; the figures in the pairing docs come from it, run
// here and under qemu-user for arm64 (scripts/bench).
#include <benchmark/benchmark.h>

#include "pairing/certificates.hpp"
#include "pairing/host_identity.hpp"
#include "pairing/tls_pipe.hpp"

namespace {

using namespace tether::pairing;

const host_identity& host() {
  static const host_identity id = *host_identity::generate();
  return id;
}

void host_keys_made_once(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(host_identity::generate());
}
BENCHMARK(host_keys_made_once)->Unit(benchmark::kMillisecond)->Iterations(3);

void device_certificate_per_phone(benchmark::State& state) {
  const rsa_key device = *rsa_key::from_public_pem(host().host_key.public_pem());
  for (auto _ : state)
    benchmark::DoNotOptimize(
        make_leaf_certificate(host().root_key, host().root_certificate, device));
}
BENCHMARK(device_certificate_per_phone)->Unit(benchmark::kMillisecond);

// Both ends of the handshake in one thread: an upper bound on the host's part.
void tls_session_both_ends(benchmark::State& state) {
  const tls_pipe::identity client{host().root_certificate, host().root_key.private_pem()};
  const tls_pipe::identity server{host().host_certificate, host().host_key.private_pem()};
  for (auto _ : state) {
    auto c = tls_pipe::make(tls_pipe::role::client, client).value();
    auto s = tls_pipe::make(tls_pipe::role::server, server).value();
    while (!c->established() || !s->established()) {
      if (!s->feed(c->take_ciphertext()) || !c->feed(s->take_ciphertext())) {
        state.SkipWithError("handshake failed");
        break;
      }
    }
  }
}
BENCHMARK(tls_session_both_ends)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
