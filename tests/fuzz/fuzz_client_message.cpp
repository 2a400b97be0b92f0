// Fuzz target: the usbmuxd client protocol as tetherd will read it from a socket:
// the message reader in two chunks, then every message decoded. Reader and decoder
// must reject bad input with an error, never crash, and never buffer past 64 KiB.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "proto/usbmuxd/wire.hpp"

using namespace tether::proto::usbmuxd;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto in = std::as_bytes(std::span(data, size));
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
