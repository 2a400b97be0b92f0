// Fuzz target: the camera protocol as the camera service reads it from a PeerTalk
// channel: the frame reader in two chunks, then every frame decoded. Reader and decoder
// must reject bad input with an error, never crash, and never buffer past one frame.
// Whatever decodes must pass validate() and survive encode -> read -> decode unchanged.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "proto/camera/messages.hpp"

using namespace tether::proto;

namespace {

constexpr std::uint32_t max_payload = 1u << 20;  // small, so the bound is reachable

void check_round_trip(const camera::message& m, std::uint32_t tag) {
  if (camera::validate(m)) std::abort();
  const auto bytes = camera::encode(m, tag);
  peertalk::frame_reader again(peertalk::default_max_payload);
  if (again.feed(bytes)) std::abort();
  auto f = again.next();
  if (!f || again.next() || again.buffered() != 0) std::abort();
  const auto back = camera::decode(*f);
  const auto* m2 = std::get_if<camera::message>(&back);
  if (m2 == nullptr || !(*m2 == m)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto in = std::as_bytes(std::span(data, size));
  peertalk::frame_reader reader(max_payload);
  const std::size_t cut = size == 0 ? 0 : data[0] % (size + 1);
  for (auto piece : {in.first(cut), in.subspan(cut)}) {
    const bool failed = static_cast<bool>(reader.feed(piece));
    if (reader.buffered() > peertalk::header_size + max_payload) std::abort();
    while (auto f = reader.next()) {
      if (f->payload.size() > max_payload) std::abort();
      auto d = camera::decode(*f);
      if (auto* m = std::get_if<camera::message>(&d)) {
        if (static_cast<std::uint32_t>(camera::type_of(*m)) != f->type) std::abort();
        check_round_trip(*m, f->tag);
      } else if (std::get<camera::decode_error>(d).text.empty()) {
        std::abort();  // every rejection says why
      }
    }
    if (failed) {
      if (reader.error_text().empty()) std::abort();
      break;
    }
  }
  (void)reader.finish();
  return 0;
}
