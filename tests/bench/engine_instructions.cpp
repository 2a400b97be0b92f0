// A fixed amount of work for the engine, to count its instructions under callgrind
// (engine_instructions.sh): a host session and a device session joined by the in-memory
// link, one connection, COUNT writes of SIZE bytes host -> phone, each delivered,
// consumed and acknowledged, as in session_bench. No clock, no iteration count chosen at
// run time: the same arguments do the same work, so the instruction count repeats.
//
//   engine_instructions SIZE COUNT
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "usbmux/core/device_session.hpp"
#include "usbmux/core/host_session.hpp"
#include "usbmux/testing/memory_link.hpp"

using namespace tether::usbmux;

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: engine_instructions SIZE COUNT\n");
    return 2;
  }
  const std::size_t size = std::strtoull(argv[1], nullptr, 10);
  const long count = std::strtol(argv[2], nullptr, 10);
  host_session host;
  device_session phone;
  testing::memory_link link{host, phone};
  phone.listen(2345);
  host.start({});
  link.pump();
  const conn_id host_id = *host.connect(2345, {});
  link.pump();
  conn_id phone_id = 0;
  while (auto e = phone.poll_event())
    if (auto* a = std::get_if<events::accepted>(&*e)) phone_id = a->id;
  while (host.poll_event()) {
  }
  const std::vector<std::byte> payload(size, std::byte{0x42});
  std::uint64_t delivered = 0;
  for (long i = 0; i < count; ++i) {
    std::size_t off = 0;
    while (off < payload.size()) {
      off += *host.send(host_id, std::span(payload).subspan(off));
      link.pump();
      const auto got = phone.received(phone_id);
      delivered += got.size();
      phone.consume(phone_id, got.size());
      link.pump();
    }
    while (phone.poll_event()) {
    }
    while (host.poll_event()) {
    }
  }
  if (delivered != size * static_cast<std::uint64_t>(count)) {
    std::fprintf(stderr, "bytes lost: %llu of %llu\n", static_cast<unsigned long long>(delivered),
                 static_cast<unsigned long long>(size * static_cast<std::uint64_t>(count)));
    return 1;
  }
  std::printf("%llu bytes in %ld writes of %zu\n", static_cast<unsigned long long>(delivered),
              count, size);
  return 0;
}
