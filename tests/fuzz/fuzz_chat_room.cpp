// Fuzz target: the chat room of `tether chat` as its adapter drives it, with up to eight
// connections. Each byte is one step: its low three bits pick a connection, the rest an
// action (connect, bytes from it, close, a full write of its output, a partial write,
// the dropped list). Small bounds, so each is reachable. After every step: never more
// members or backlog than the bounds, output in whole lines without control characters,
// names valid and unique, every drop reported once and for a live connection only.
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "proto/chat/chat_room.hpp"

using namespace tether::proto::chat;

namespace {

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool valid_name(std::string_view n, std::size_t most) {
  return !n.empty() && n.size() <= most && std::all_of(n.begin(), n.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
  });
}

struct slot {
  std::optional<member_id> id;
  bool live = false;  // as the room last said
  std::size_t in_flight = 0;
};

void check_output(const std::string& out, const limits& l) {
  if (out.empty()) return;
  if (out.back() != '\n') std::abort();  // whole lines only
  std::size_t start = 0;
  while (start < out.size()) {
    const std::size_t end = out.find('\n', start);
    const std::string_view line(out.data() + start, end - start);
    // Longest: "NAME: TEXT" with TEXT up to max_line - 4, or an error quoting 35 bytes.
    if (line.empty() || line.size() > std::max<std::size_t>(l.max_name + 2 + l.max_line, 100))
      std::abort();
    for (const char c : line)
      if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f) std::abort();
    start = end + 1;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const limits l{
      .max_line = 48, .max_name = 6, .max_members = 4, .max_backlog = 400, .max_bad_lines = 5};
  chat_room room(l);
  std::array<slot, 8> slots{};
  std::set<std::uint64_t> reported;
  std::size_t at = 0;
  auto next = [&]() -> std::uint8_t { return at < size ? data[at++] : 0; };

  auto check = [&] {
    if (room.members() > l.max_members) std::abort();
    for (const auto& d : room.take_dropped()) {
      if (!reported.insert(static_cast<std::uint64_t>(d.id)).second) std::abort();  // once
      if (d.why != "too slow to read" && d.why != "line too long" &&
          d.why != "too many bad lines" && d.why != "the room is full")
        std::abort();
      if (room.connected(d.id)) std::abort();
    }
    std::size_t live = 0;
    std::set<std::string> names;
    for (auto& s : slots) {
      if (!s.id) continue;
      if (room.backlog(*s.id) > l.max_backlog) std::abort();
      s.live = room.connected(*s.id);
      if (s.live) {
        ++live;
        if (reported.count(static_cast<std::uint64_t>(*s.id))) std::abort();
        const std::string_view n = room.name(*s.id);
        if (!n.empty()) {
          if (!valid_name(n, l.max_name)) std::abort();
          std::string folded(n);
          for (char& c : folded) c = lower(c);
          if (!names.insert(folded).second) std::abort();  // unique whatever the case
        }
      } else if (!room.name(*s.id).empty() || !reported.count(static_cast<std::uint64_t>(*s.id))) {
        std::abort();  // not live: dropped (and said so), nameless
      }
    }
    if (live != room.members()) std::abort();
  };

  while (at < size) {
    const std::uint8_t op = next();
    slot& s = slots[op & 7];
    switch ((op >> 3) & 7) {
      case 0:  // a connection arrives in this slot (the old one, if any, closes)
        if (s.id) room.left(*s.id);
        s = slot{room.join(), true, 0};
        break;
      case 1:
      case 2:
      case 3: {  // bytes from it: a length, then that many
        const std::size_t n = std::min<std::size_t>(next(), size - at);
        if (s.id)
          room.received(*s.id, std::string_view(reinterpret_cast<const char*>(data) + at, n));
        at += n;
        break;
      }
      case 4:  // it closes
        if (s.id) room.left(*s.id);
        s = slot{};
        break;
      case 5:  // its output is taken and all written
      case 6:  // taken, and only some written (a write in flight)
        if (s.id) {
          const std::string out = room.take_output(*s.id);
          check_output(out, l);
          if (!s.live) {  // dropped: these were its last words; the adapter closes
            if (!room.take_output(*s.id).empty()) std::abort();
            break;
          }
          s.in_flight += out.size();
          const std::size_t w =
              ((op >> 3) & 7) == 5 ? s.in_flight : std::min<std::size_t>(next(), s.in_flight);
          room.written(*s.id, w);
          s.in_flight -= w;
          if (room.backlog(*s.id) < s.in_flight) std::abort();
        }
        break;
      case 7:  // the adapter asks for the dropped (check() does) and writes nothing
        break;
    }
    check();
  }
  for (auto& s : slots)
    if (s.id) room.left(*s.id);
  if (room.members() != 0) std::abort();
  return 0;
}
