#include "phone/chat_app.hpp"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace tether::sim {

bool valid_chat_name(const std::string& name) {
  return !name.empty() && name.size() <= chat_max_name &&
         std::all_of(name.begin(), name.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_';
         });
}

std::string chat_member_name(const std::string& name, const std::string& udid) {
  if (udid.empty()) return name;
  return name + "-" + udid.substr(udid.size() - std::min<std::size_t>(4, udid.size()));
}

namespace {

using usbmux::conn_id;
using usbmux::device_session;

class chat_app final : public phone_app {
 public:
  chat_app(std::string member, chat_log log) : member_(std::move(member)), log_(std::move(log)) {
    if (!log_) log_ = [](log::level l, const std::string& line) { log::write(l, line); };
  }

  void on_accept(device_session& s, conn_id id) override {
    spares_.push_back(id);
    if (!suspended_) join(s);
  }

  void on_ready(device_session& s, conn_id id) override {
    if (suspended_) return;  // the phone does not call then; this keeps the promise anyway
    if (active_ == id) {
      hear(s);
      flush(s);
    } else if (!active_) {
      join(s);  // back from the background, say, with its connection gone meanwhile
    }
    // Otherwise `id` is a spare: its bytes (there should be none) wait unread, held back
    // by that connection's own window, which stops nothing else.
  }

  void on_closed(conn_id id) override { forget(id); }

  void on_ended(device_session& s, conn_id id) override {
    if (active_ == id && !suspended_) hear(s);  // the last lines before the end
    forget(id);
    if (!suspended_) join(s);
  }

  void on_suspended(bool suspended) override { suspended_ = suspended; }

 private:
  void forget(conn_id id) {
    std::erase(spares_, id);
    if (active_ != id) return;
    active_.reset();
    log_(log::level::debug, "chat " + member_ + " lost its connection");
  }

  // Takes the oldest spare still open, if there is no connection in use, and joins on it.
  void join(device_session& s) {
    while (!active_ && !spares_.empty()) {
      const conn_id id = spares_.front();
      spares_.erase(spares_.begin());
      const auto info = s.info(id);
      if (!info || info->state != usbmux::stream_state::established) continue;  // ending
      active_ = id;
      line_.clear();
      line_bytes_ = 0;
      out_.clear();
      joined_ = false;
      said_ = 0;
      awaiting_ = 0;
      say(s, "iam:" + member_);
      if (active_ != id) continue;  // it ended under us: the next one
      hear(s);                      // whatever came while it was a spare
      flush(s);
    }
  }

  // Reads what waits on the connection in use, line by line: each whole line is acted
  // on before the next is read, as what it says may end the connection.
  void hear(device_session& s) {
    while (active_) {
      const conn_id id = *active_;
      const auto data = s.received(id);
      if (data.empty()) return;
      const auto* begin = reinterpret_cast<const char*>(data.data());
      const auto* end = begin + data.size();
      const auto* nl = std::find(begin, end, '\n');
      keep(begin, nl);
      const bool whole = nl != end;
      s.consume(id, static_cast<std::size_t>(nl - begin) + (whole ? 1 : 0));
      if (!whole) return;
      std::string line;
      line.swap(line_);
      const std::size_t bytes = line_bytes_;
      line_bytes_ = 0;
      on_line(s, line, bytes);
    }
  }

  // Adds to the line being read, keeping no more than chat_max_line bytes of it.
  void keep(const char* begin, const char* end) {
    const auto n = static_cast<std::size_t>(end - begin);
    line_bytes_ += n;
    if (line_.size() < chat_max_line)
      line_.append(begin, std::min(n, chat_max_line - line_.size()));
  }

  void on_line(device_session& s, const std::string& line, std::size_t bytes) {
    std::string heard = "chat " + member_ + " heard: " + line;
    if (bytes > line.size()) {
      ++lines_cut_;
      heard += " [cut: " + std::to_string(bytes) +
               " bytes; lines cut: " + std::to_string(lines_cut_) + "]";
      log_(log::level::info, heard);
      return;  // nothing the app waits for is that long
    }
    log_(log::level::info, heard);
    if (!joined_ && line == member_ + " has joined") {
      joined_ = true;
      say_next(s);
    } else if (awaiting_ != 0 && line == member_ + ": " + hello(awaiting_)) {
      awaiting_ = 0;
      if (said_ < chat_lines_per_join) say_next(s);
    }
  }

  std::string hello(unsigned n) const { return "hello " + std::to_string(n) + " from " + member_; }

  void say_next(device_session& s) {
    ++said_;
    awaiting_ = ++numbered_;
    say(s, "msg:" + hello(awaiting_));
  }

  void say(device_session& s, const std::string& line) {
    log_(log::level::debug, "chat " + member_ + " said: " + line);
    out_ += line;
    out_ += '\n';
    flush(s);
  }

  // Hands what the app said to the mux; the rest waits for `writable` (on_ready).
  void flush(device_session& s) {
    if (!active_ || out_.empty()) return;
    const auto took = s.send(*active_, std::as_bytes(std::span(out_.data(), out_.size())));
    if (!took) {  // the connection is ending; its `closed` follows
      forget(*active_);
      return;
    }
    out_.erase(0, *took);
  }

  const std::string member_;  // NAME-XXXX
  chat_log log_;
  bool suspended_ = false;
  std::vector<conn_id> spares_;    // accepted, not used yet: oldest first
  std::optional<conn_id> active_;  // the connection it chats on
  // Per join, on active_:
  std::string line_;            // the line being read, at most chat_max_line bytes of it
  std::size_t line_bytes_ = 0;  // its whole length so far
  std::string out_;             // said, not yet taken by the mux
  bool joined_ = false;         // heard its own `has joined`
  unsigned said_ = 0;           // hello lines said on this join
  unsigned awaiting_ = 0;       // the hello whose echo it waits for (0: none)
  // Over the app's life:
  unsigned numbered_ = 0;  // hello lines said so far: the next is numbered one on
  std::uint64_t lines_cut_ = 0;
};

}  // namespace

std::unique_ptr<phone_app> make_chat_app(std::string name, const std::string& udid, chat_log log) {
  return std::make_unique<chat_app>(chat_member_name(name, udid), std::move(log));
}

}  // namespace tether::sim
