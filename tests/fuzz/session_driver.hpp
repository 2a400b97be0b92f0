#pragma once
// Shared by the session fuzz targets: plays the owner of a session the way the
// daemon would (reads everything, echoes it back, pulls every packet) while fuzzed
// bytes arrive from the peer in pseudo-random chunks, and checks the engine's
// promises after every step. Any broken promise aborts, which the fuzzer reports.
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "usbmux/core/session.hpp"

namespace tether::usbmux::fuzz {

inline void check_invariants(const session& s, const std::vector<conn_id>& ids) {
  for (conn_id id : ids) {
    const auto info = s.info(id);
    if (!info) continue;
    if (info->unread > s.options().receive_window) std::abort();
    if (info->unsent > s.options().send_buffer) std::abort();
  }
  if (s.connection_count() > s.options().max_connections) std::abort();
}

// Drains events, echoes readable data, frees closed connections, pulls all output.
inline void serve(session& s, std::vector<conn_id>& ids, time_point now) {
  while (auto e = s.poll_event()) {
    if (auto* c = std::get_if<events::connected>(&*e)) ids.push_back(c->id);
    if (auto* a = std::get_if<events::accepted>(&*e)) ids.push_back(a->id);
    if (auto* c = std::get_if<events::closed>(&*e)) {
      if (s.close(c->id, now)) std::abort();  // a closed id must still be known until close()
    }
  }
  for (conn_id id : ids) {
    const auto data = s.received(id);
    if (data.empty()) continue;
    const auto took = s.send(id, data);
    s.consume(id, took ? *took : data.size());
  }
  std::vector<std::byte> buf(65536);
  std::size_t packets = 0;
  while (std::size_t n = s.pull_packet(buf)) {
    if (n > s.options().max_packet_size || n < v1_header_size) std::abort();
    if (++packets > 1'000'000) std::abort();  // output must always run dry
  }
}

// Feeds `in` to the session in chunks of pseudo-random size, serving after each.
inline void feed(session& s, std::span<const std::byte> in, std::vector<conn_id>& ids,
                 time_point& now) {
  std::uint32_t x = static_cast<std::uint32_t>(in.size()) * 2654435761u + 1;
  while (!in.empty()) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    const std::size_t n = std::min<std::size_t>(in.size(), 1 + x % 3000);
    const auto ec = s.receive(in.first(n));
    in = in.subspan(n);
    now += std::chrono::milliseconds(x % 50);
    if (!ec) (void)s.on_timer(now);
    serve(s, ids, now);
    check_invariants(s, ids);
    if (s.failed()) return;
  }
}

}  // namespace tether::usbmux::fuzz
