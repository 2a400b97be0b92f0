#include "proto/chat/chat_room.hpp"

#include <algorithm>
#include <utility>

namespace tether::proto::chat {
namespace {

bool name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.';
}

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool same_name(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return lower(x) == lower(y); });
}

// A client's word quoted back in an error: printable ASCII only, and short.
std::string shown(std::string_view word) {
  constexpr std::size_t most = 32;
  std::string s;
  for (const char c : word.substr(0, most)) s += (c >= 0x20 && c < 0x7f) ? c : '?';
  if (word.size() > most) s += "...";
  return s;
}

// Text as everyone will see it: no control characters (terminal escapes, bells, ...).
std::string printable(std::string_view text) {
  std::string s(text);
  for (char& c : s)
    if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f) c = '?';
  return s;
}

}  // namespace

member_id chat_room::join() {
  const member_id id{next_id_++};
  members_.emplace(id, member{});
  ++live_;
  if (live_ > limits_.max_members)
    drop(id, "the room is full",
         "error: the room is full (" + std::to_string(limits_.max_members) + " members)");
  return id;
}

void chat_room::received(member_id id, std::string_view bytes) {
  auto it = members_.find(id);
  if (it == members_.end() || it->second.closing) return;
  member& m = it->second;  // std::map: stays put while others come and go
  // A line's length leaves out its "\r": raw bytes so far, less one for a last "\r"
  // (which may yet be followed by "\n"). Past max_line the line is refused, even
  // before its end arrives, so at most max_line + 1 bytes wait in `partial`.
  auto too_long = [this](std::size_t raw, char last) {
    return raw - (last == '\r' ? 1 : 0) > limits_.max_line;
  };
  while (!bytes.empty() && !m.closing) {
    const auto nl = bytes.find('\n');
    const std::string_view piece = bytes.substr(0, nl);
    const std::size_t raw = m.partial.size() + piece.size();
    const char last = !piece.empty() ? piece.back() : !m.partial.empty() ? m.partial.back() : '\0';
    if (too_long(raw, last))
      return drop(
          id, "line too long",
          "error: a line is at most " + std::to_string(limits_.max_line) + " bytes; disconnecting");
    if (nl == std::string_view::npos) {
      m.partial.append(piece);
      return;
    }
    bytes.remove_prefix(nl + 1);
    std::string whole;
    std::string_view text = piece;
    if (!m.partial.empty()) {
      whole = std::exchange(m.partial, std::string());
      whole.append(piece);
      text = whole;
    }
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    line(id, text);
  }
}

void chat_room::line(member_id id, std::string_view text) {
  member& m = members_.find(id)->second;
  if (text.empty()) return;  // a stray Enter
  const auto colon = text.find(':');
  const std::string_view command = text.substr(0, colon);
  const std::string_view argument =
      colon == std::string_view::npos ? std::string_view{} : text.substr(colon + 1);
  if (command == "iam") return command_iam(id, m, argument);
  if (command == "msg") return command_msg(id, m, argument);
  bad_line(id, m, "error: unknown command '" + shown(command) + "' (iam:NAME or msg:TEXT)");
}

void chat_room::command_iam(member_id id, member& m, std::string_view name) {
  if (name.empty() || name.size() > limits_.max_name ||
      !std::all_of(name.begin(), name.end(), name_char))
    return bad_line(id, m,
                    "error: a name is 1 to " + std::to_string(limits_.max_name) +
                        " letters, digits, '-', '_' or '.' (e.g. iam:alice)");
  if (m.name == name) return bad_line(id, m, "error: you are already " + m.name);
  if (name_taken(name, id))
    return bad_line(id, m, "error: the name '" + std::string(name) + "' is taken");
  m.bad_lines = 0;
  if (m.name.empty()) {
    m.name = name;
    broadcast(m.name + " has joined");
  } else {
    std::string was = std::exchange(m.name, std::string(name));
    broadcast(was + " is now " + m.name);
  }
}

void chat_room::command_msg(member_id id, member& m, std::string_view text) {
  if (m.name.empty()) return bad_line(id, m, "error: say iam:NAME first");
  if (text.empty()) return bad_line(id, m, "error: say something after msg:");
  m.bad_lines = 0;
  broadcast(m.name + ": " + printable(text));
}

void chat_room::bad_line(member_id id, member& m, std::string_view error) {
  if (!deliver(m, error)) return drop(id, "too slow to read", {});
  if (++m.bad_lines >= limits_.max_bad_lines)
    drop(id, "too many bad lines",
         "error: too many bad lines in a row (" + std::to_string(limits_.max_bad_lines) +
             "); disconnecting");
}

bool chat_room::deliver(member& m, std::string_view text) {
  if (m.out.size() + m.in_flight + text.size() + 1 > limits_.max_backlog) return false;
  m.out.append(text);
  m.out += '\n';
  return true;
}

void chat_room::broadcast(const std::string& text) {
  std::vector<member_id> slow;
  for (auto& [id, m] : members_)
    if (!m.closing && !m.name.empty() && !deliver(m, text)) slow.push_back(id);
  // Each drop announces itself to the rest (which may drop more): after this line, in
  // the same order for everyone.
  for (const member_id id : slow)
    if (const auto it = members_.find(id); it != members_.end() && !it->second.closing)
      drop(id, "too slow to read", {});
}

void chat_room::drop(member_id id, const std::string& why, std::string_view last_words) {
  member& m = members_.find(id)->second;
  m.closing = true;
  --live_;
  m.partial = std::string();
  if (last_words.empty()) {
    m.out = std::string();
  } else if (!deliver(m, last_words)) {
    m.out.assign(last_words);
    m.out += '\n';
  }
  std::string name = std::exchange(m.name, std::string());
  dropped_.push_back({id, name, why});
  if (!name.empty()) broadcast(name + " has left (" + why + ")");
}

bool chat_room::name_taken(std::string_view name, member_id except) const {
  return std::any_of(members_.begin(), members_.end(), [&](const auto& e) {
    return e.first != except && !e.second.closing && same_name(e.second.name, name);
  });
}

void chat_room::left(member_id id) {
  const auto it = members_.find(id);
  if (it == members_.end()) return;
  const bool was_live = !it->second.closing;
  std::string name = std::move(it->second.name);
  members_.erase(it);
  if (!was_live) return;
  --live_;
  if (!name.empty()) broadcast(name + " has left");
}

std::string chat_room::take_output(member_id id) {
  const auto it = members_.find(id);
  if (it == members_.end()) return {};
  std::string out = std::exchange(it->second.out, std::string());
  if (it->second.closing)
    members_.erase(it);  // its last words are the adapter's now
  else
    it->second.in_flight += out.size();
  return out;
}

void chat_room::written(member_id id, std::size_t n) {
  const auto it = members_.find(id);
  if (it == members_.end()) return;
  it->second.in_flight -= std::min(n, it->second.in_flight);
}

std::vector<dropped> chat_room::take_dropped() { return std::exchange(dropped_, {}); }

std::size_t chat_room::backlog(member_id id) const {
  const auto it = members_.find(id);
  if (it == members_.end()) return 0;
  return it->second.closing ? it->second.out.size() : it->second.out.size() + it->second.in_flight;
}

std::string_view chat_room::name(member_id id) const {
  const auto it = members_.find(id);
  return it == members_.end() ? std::string_view{} : std::string_view(it->second.name);
}

bool chat_room::connected(member_id id) const {
  const auto it = members_.find(id);
  return it != members_.end() && !it->second.closing;
}

}  // namespace tether::proto::chat
