// Fuzz target: the usbmuxd client protocol as tetherd will read it from a socket:
// the message reader in two chunks, then every message decoded; and the same bytes as
// tether's clients read a daemon's replies. Readers and decoders must reject bad input
// with an error, never crash, and never buffer past 64 KiB.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "proto/usbmuxd/client.hpp"
#include "proto/usbmuxd/wire.hpp"

using namespace tether::proto::usbmuxd;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto in = std::as_bytes(std::span(data, size));
  if (size >= header_size) {
    // A client reads a header, then exactly the length it gives, checked first.
    const auto length = message_length(in.first<header_size>());
    if (length) {
      const std::uint32_t* n = &*length;
      if (*n < header_size || *n > max_message) std::abort();
      if (*n <= size) (void)decode_daemon_message(in.subspan(header_size, *n - header_size));
    }
  }
  message_reader reader;
  const std::size_t cut = size == 0 ? 0 : data[0] % (size + 1);
  for (auto piece : {in.first(cut), in.subspan(cut)}) {
    if (reader.feed(piece)) break;
    if (reader.buffered() > max_message) std::abort();
    while (auto m = reader.next()) {
      if (m->body.size() + header_size != m->head.length) std::abort();
      (void)decode_request(m->head, m->body);
    }
  }
  return 0;
}
