#include "camera/controller_session.hpp"

#include <algorithm>
#include <cstdio>

#include "base/log.hpp"
#include "camera/protocol_mapping.hpp"
#include "camera/session_hub.hpp"

namespace tether::camera {

namespace wire = proto::camera;
namespace msg = proto::camera::messages;

namespace {
constexpr auto stats_period = std::chrono::seconds(1);

// Backpressure: the controller's requests are not read while any of these is reached,
// and reading resumes once it drains. 256 KiB of answers waiting is a hundred property
// lists or thousands of small replies: a controller that reads at all stays far below.
constexpr std::size_t read_pause_bytes = 256 * 1024;
// Commands handed to the camera and not answered yet (the camera runs one at a time, so
// more gain nothing); also what one controller can put in the camera service's queue.
constexpr std::size_t max_commands_in_flight = 8;
// Downloads queued behind each other: one running and one waiting keeps the link busy.
constexpr std::size_t max_queued_downloads = 2;
// The last resort. Events (tag 0: property changes, captures, the camera coming and
// going) are not answers to requests, so backpressure cannot hold them back. An event
// that finds this much unwritten disconnects the controller. Replies never do: reading
// stops at read_pause_bytes with at most max_commands_in_flight answers still to come.
constexpr std::size_t drop_bytes = 4 << 20;
constexpr std::uint32_t max_logged_bad_frames = 3;  // per controller
// Output or live view out this long without the controller taking it is worth a line:
// as long as the wait for an app's hello (PROTOCOL.md §1.1).
constexpr auto taking_limit = std::chrono::seconds(5);
}  // namespace

controller_session::controller_session(session_hub& hub, stream_socket s, std::string name,
                                       std::function<void()> on_closed)
    : hub_(hub),
      socket_(std::move(s)),
      name_(std::move(name)),
      on_closed_(std::move(on_closed)),
      reader_(static_cast<std::uint32_t>(wire::max_plist_payload)),
      stats_timer_(hub.io()),
      taking_(taking_limit),
      taking_timer_(hub.io()) {}

void controller_session::start(std::vector<std::byte> first_bytes) {
  msg::hello hello;
  hello.sender = wire::role::camera;
  hello.name = hub_.service().model().substr(0, wire::max_name);
  hello.capabilities = {"live_view", "live_view_ack", "capture",   "download",
                        "autofocus", "focus_step",    "properties"};
  send(hello, proto::peertalk::no_tag);
  feed(first_bytes);  // and then reads
}

bool controller_session::held_back() const {
  return control_out_.bytes() >= read_pause_bytes ||
         commands_in_flight_ >= max_commands_in_flight ||
         control_out_.downloads() >= max_queued_downloads;
}

void controller_session::read() {
  if (closed_ || reading_) return;
  reading_ = true;
  socket_.async_read_some(
      asio::buffer(buf_), [self = shared_from_this()](std::error_code ec, std::size_t n) {
        self->reading_ = false;
        if (self->closed_) return;
        if (ec) {
          self->close(ec == asio::error::eof ? "the controller closed the connection"
                                             : "connection lost: " + ec.message());
          return;
        }
        self->heard_from_ = true;
        self->feed(std::span(self->buf_.data(), n));
      });
}

void controller_session::feed(std::span<const std::byte> bytes) {
  reader_.feed(bytes);
  handle_frames();
}

// Runs after reading, and again whenever something drains (a write done, a command
// answered), so a controller held back resumes where it stopped.
void controller_session::handle_frames() {
  while (!closed_ && !held_back()) {
    auto f = reader_.next();
    if (!f) {
      // Every frame before a bad header is handled first.
      if (reader_.error())
        close("the controller's stream cannot be read: " + reader_.error_text());
      else
        read();
      return;
    }
    if (f->type == proto::peertalk::end_of_stream) {
      close("the controller ended the stream");
      return;
    }
    auto decoded = wire::decode(*f);
    if (auto* e = std::get_if<wire::decode_error>(&decoded)) {
      // Unknown frames with tag 0 are a newer peer's events: ignored (PROTOCOL.md §3).
      if (e->code == wire::error_code::not_supported && f->tag == proto::peertalk::no_tag) continue;
      // A peer sending nothing but bad frames would flood the log: the first few say it.
      if (++bad_frames_ <= max_logged_bad_frames)
        log::warn(
            name_ + ": " + e->text +
            (bad_frames_ == max_logged_bad_frames ? " (more such frames are not logged)" : ""));
      send(msg::error{e->code, e->text.substr(0, wire::max_message)}, f->tag);
      continue;
    }
    handle(std::move(std::get<wire::message>(decoded)), f->tag);
  }
}

void controller_session::run(
    command c, std::uint32_t tag,
    std::function<void(controller_session&, command_outcome&)> on_success) {
  std::weak_ptr<controller_session> weak = shared_from_this();
  auto& io = hub_.io();
  const std::string what = describe(c);
  ++commands_in_flight_;
  hub_.service().submit(std::move(c), [weak, &io, tag, what, on_success = std::move(on_success)](
                                          command_outcome o) mutable {
    // On the camera thread: hand the outcome to the I/O thread.
    asio::post(io,
               [weak, tag, what, on_success = std::move(on_success), o = std::move(o)]() mutable {
                 auto self = weak.lock();
                 if (!self || self->closed_) return;
                 --self->commands_in_flight_;
                 if (o.error) {
                   log::info(self->name_ + ": " + what + ": " + o.error->what());
                   self->send(to_wire(*o.error), tag);
                 } else {
                   if (o.busy_retries > 0)
                     log::debug(self->name_ + ": " + what + ": done after " +
                                std::to_string(o.busy_retries) + " busy retries");
                   on_success(*self, o);
                 }
                 self->handle_frames();
               });
  });
}

void controller_session::handle(wire::message m, std::uint32_t tag) {
  std::visit(
      [&](auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, msg::hello>) {
          // The session speaks the lower version: only a version below ours fails.
          if (v.version < wire::protocol_version) {
            send(msg::error{wire::error_code::unsupported_version,
                            "this camera speaks protocol version 1, the controller " +
                                std::to_string(v.version)},
                 proto::peertalk::no_tag);
            close("protocol version " + std::to_string(v.version));
            return;
          }
          log::info(name_ + ": controller '" + v.name + "' says hello");
        } else if constexpr (std::is_same_v<T, msg::get_properties>) {
          run(commands::list_properties{}, tag, [tag, name = v.name](auto& self, auto& o) {
            msg::properties reply;
            for (const auto& p : std::get<std::vector<property>>(o.value))
              if (name.empty() || p.name == name) reply.items.push_back(to_wire(p));
            if (!name.empty() && reply.items.empty()) {
              self.send(msg::error{wire::error_code::unknown_property,
                                   "the camera has no setting called '" + name + "'"},
                        tag);
              return;
            }
            self.send(reply, tag);
          });
        } else if constexpr (std::is_same_v<T, msg::set_property>) {
          run(commands::set_property{v.name, v.value}, tag,
              [tag, requested = v.value](controller_session& self, command_outcome& o) {
                const auto& p = std::get<property>(o.value);
                self.send(msg::property_set{p.name, requested, p.value}, tag);
                // Everyone hears of the change, the setter too, after its reply
                // (PROTOCOL.md, setting a value).
                self.hub_.broadcast(msg::property_changed{to_wire(p)});
              });
        } else if constexpr (std::is_same_v<T, msg::capture>) {
          run(commands::capture{}, tag, [tag](controller_session& self, command_outcome& o) {
            auto& f = std::get<captured_file>(o.value);
            msg::capture_done done;
            done.file_name = f.name.substr(0, wire::max_file_name);
            done.mime_type = f.mime.substr(0, wire::max_mime_type);
            done.size = f.bytes.size();
            done.transfer_id = self.hub_.keep_capture(std::move(f));
            log::info(self.name_ + ": captured " + done.file_name + ", " +
                      std::to_string(done.size) + " bytes, transfer " +
                      std::to_string(done.transfer_id));
            self.send(msg::ok{}, tag);
            self.hub_.broadcast(done);
          });
        } else if constexpr (std::is_same_v<T, msg::autofocus>) {
          run(commands::autofocus{}, tag,
              [tag](controller_session& self, command_outcome&) { self.send(msg::ok{}, tag); });
        } else if constexpr (std::is_same_v<T, msg::focus_step>) {
          run(commands::focus_step{from_wire(v.direction), from_wire(v.size)}, tag,
              [tag](controller_session& self, command_outcome&) { self.send(msg::ok{}, tag); });
        } else if constexpr (std::is_same_v<T, msg::start_live_view>) {
          // The ok goes first, then the frames (PROTOCOL.md): a controller that waits for
          // the ok by its tag would drop an earlier frame, and with MaxInFlight 1 wait
          // for the next one forever.
          send(msg::ok{}, tag);
          start_live_view(v.max_in_flight);
        } else if constexpr (std::is_same_v<T, msg::live_view_ack>) {
          acknowledged(v.sequence);
        } else if constexpr (std::is_same_v<T, msg::stop_live_view>) {
          stop_live_view();
          send(msg::ok{}, tag);
        } else if constexpr (std::is_same_v<T, msg::download>) {
          download(v, tag);
        } else {
          send(msg::error{wire::error_code::not_supported,
                          wire::type_name(static_cast<std::uint32_t>(wire::type_of(m))) +
                              " is a camera's message, not a controller's"},
               tag);
        }
      },
      m);
}

void controller_session::download(const msg::download& d, std::uint32_t tag) {
  const auto file = hub_.find_capture(d.transfer_id);
  if (!file) {
    send(msg::error{wire::error_code::unknown_transfer,
                    "transfer " + std::to_string(d.transfer_id) +
                        " is not here (any more): capture again"},
         tag);
    return;
  }
  const std::uint64_t total = file->bytes.size();
  if (d.offset > total) {
    send(msg::error{wire::error_code::bad_request, "offset " + std::to_string(d.offset) +
                                                       " is past the end of the file (" +
                                                       std::to_string(total) + " bytes)"},
         tag);
    return;
  }
  // Chunks go out as control frames, alternating with live view (see pump()), each
  // encoded when its turn comes.
  control_out_.push_download(file, d.transfer_id, d.offset, tag);
  pump();
}

void controller_session::start_live_view(std::uint32_t max_in_flight) {
  // A second start changes the pacing and forgets earlier acks (PROTOCOL.md §6.2).
  max_in_flight_ = max_in_flight;
  in_flight_.clear();
  live_turn_ = false;  // the ok queued before this goes out before any frame
  if (live_) {
    pump();
    return;
  }
  std::weak_ptr<controller_session> weak = shared_from_this();
  auto& io = hub_.io();
  // The wake-up runs on the camera thread when the mailbox fills; it only posts.
  live_ = hub_.service().subscribe([weak, &io] {
    asio::post(io, [weak] {
      if (auto self = weak.lock()) self->pump();
    });
  });
  meter_ = live_view_meter();
  log::info(name_ + ": live view on" +
            (max_in_flight == 0
                 ? std::string()
                 : ", at most " + std::to_string(max_in_flight) + " unacknowledged"));
  stats_tick();
}

void controller_session::stop_live_view() {
  if (!live_) return;
  hub_.service().unsubscribe(live_);
  live_.reset();
  in_flight_.clear();
  max_in_flight_ = 0;
  stats_timer_.cancel();
  log::info(name_ + ": live view off");
}

void controller_session::acknowledged(std::uint32_t sequence) {
  // An ack covers every earlier frame, across the 32-bit wrap; one for a frame not sent
  // matches nothing.
  const msg::live_view_ack ack{sequence};
  const auto now = std::chrono::steady_clock::now();
  bool freed = false;
  while (!in_flight_.empty() && ack.covers(in_flight_.front().sequence)) {
    meter_.delivered(in_flight_.front().captured, now);
    in_flight_.pop_front();
    freed = true;
  }
  if (freed) took();
  if (freed) pump();
}

void controller_session::stats_tick() {
  stats_timer_.expires_after(stats_period);
  stats_timer_.async_wait([weak = std::weak_ptr(shared_from_this())](std::error_code ec) {
    auto self = weak.lock();
    if (ec || !self || !self->live_ || self->closed_) return;
    const auto s = self->meter_.close_window(self->live_->dropped());
    char line[160];
    std::snprintf(line, sizeof line, "live view %.1f fps, age %.1f ms (max %.1f), %llu dropped",
                  s.fps, s.mean_age_ms, s.max_age_ms, static_cast<unsigned long long>(s.dropped));
    log::debug(self->name_ + ": " + line);
    // A controller that is not keeping up gets no figures this second; the next ones
    // would supersede them anyway.
    if (self->control_out_.bytes() < read_pause_bytes)
      self->send(msg::live_view_stats{s.fps, self->hub_.service().stats().capture_fps,
                                      s.mean_age_ms, s.max_age_ms, s.delivered, s.dropped},
                 proto::peertalk::no_tag);
    self->stats_tick();
  });
}

void controller_session::send(const wire::message& m, std::uint32_t tag) {
  if (closed_) return;
  try {
    queue(wire::encode(m, tag), tag);
  } catch (const std::exception& e) {
    // A value from the camera that breaks a protocol bound: say so rather than vanish.
    log::warn(name_ + ": cannot send " +
              wire::type_name(static_cast<std::uint32_t>(wire::type_of(m))) + ": " + e.what());
    queue(wire::encode(
              msg::error{wire::error_code::internal,
                         std::string("the camera's answer breaks the protocol: ") + e.what()},
              tag),
          tag);
  }
}

void controller_session::queue(std::vector<std::byte> frame, std::uint32_t tag) {
  if (closed_) return;
  if (tag == proto::peertalk::no_tag && control_out_.bytes() + frame.size() > drop_bytes) {
    close("it left " + std::to_string(control_out_.bytes() >> 10) +
              " KiB of the camera's messages unread, the limit is " +
              std::to_string(drop_bytes >> 10) +
              " KiB; a controller must keep reading its connection",
          true);
    return;
  }
  control_out_.push(std::move(frame));
  pump();
}

void controller_session::pump() {
  if (writing_ || closed_) return;
  frame_ptr frame;
  const bool window_open = max_in_flight_ == 0 || in_flight_.size() < max_in_flight_;
  if (live_ && window_open && (live_turn_ || control_out_.empty())) frame = live_->take();
  if (frame) {
    // Only now, with the socket free, does a frame become bytes: newest wins.
    out_ = wire::encode_live_view_frame(
        static_cast<std::uint32_t>(frame->number),
        static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                       frame->captured.time_since_epoch())
                                       .count()),
        static_cast<std::uint16_t>(frame->width), static_cast<std::uint16_t>(frame->height),
        frame->jpeg);
    if (max_in_flight_ != 0)
      in_flight_.push_back({static_cast<std::uint32_t>(frame->number), frame->captured});
    else
      frame_out_ = std::move(frame);  // delivered once written
    live_turn_ = false;
  } else if (auto next = control_out_.next()) {
    out_ = std::move(*next);
    live_turn_ = true;
  } else {
    return;
  }
  writing_ = true;
  await_taking();
  asio::async_write(socket_, asio::buffer(out_),
                    [self = shared_from_this()](std::error_code ec, std::size_t) {
                      self->writing_ = false;
                      if (self->closed_) return;
                      if (ec) {
                        self->close("cannot write to the controller: " + ec.message());
                        return;
                      }
                      if (self->frame_out_) self->meter_.delivered(self->frame_out_->captured);
                      self->frame_out_.reset();
                      // With acknowledgements, a frame is taken when acked, not written.
                      if (self->in_flight_.empty()) self->took();
                      self->pump();
                      self->handle_frames();  // maybe below the bounds again: read on
                    });
}

void controller_session::await_taking() {
  const auto due = taking_.waiting(std::chrono::steady_clock::now());
  if (due && !taking_timer_armed_) check_taking_at(*due);
}

// One timer for the watch, armed at most once per wait: the per-frame path only starts
// and ends waits, and a timer that finds the wait restarted re-arms for the new one.
void controller_session::check_taking_at(std::chrono::steady_clock::time_point when) {
  taking_timer_armed_ = true;
  taking_timer_.expires_at(when);
  taking_timer_.async_wait([weak = std::weak_ptr(shared_from_this())](std::error_code ec) {
    auto self = weak.lock();
    if (ec || !self || self->closed_) return;
    self->taking_timer_armed_ = false;
    if (self->taking_.due(std::chrono::steady_clock::now())) {
      log::info(self->name_ + ": " + self->peer_ + " has taken nothing for " +
                std::to_string(taking_limit.count()) + " s (" +
                std::to_string(self->control_out_.bytes() >> 10) + " KiB of messages and " +
                std::to_string(self->in_flight_.size()) +
                " live-view frames wait for it): it may be in the background; live view "
                "waits for it");
    } else if (const auto again = self->taking_.deadline()) {
      self->check_taking_at(*again);
    }
  });
}

void controller_session::took() {
  if (taking_.answered()) log::info(name_ + ": " + peer_ + " reads again");
  if (writing_ || !in_flight_.empty()) await_taking();
}

void controller_session::close_unlogged() { close({}, false, false); }

void controller_session::close(const std::string& why, bool warn) { close(why, warn, true); }

void controller_session::close(const std::string& why, bool warn, bool logged) {
  if (closed_) return;
  closed_ = true;
  if (logged) (warn ? log::warn : log::info)(name_ + ": closed (" + why + ")");
  taking_timer_.cancel();
  stop_live_view();
  std::error_code ignored;
  socket_.close(ignored);
  auto self = shared_from_this();
  hub_.ended(self);
  if (on_closed_) on_closed_();
}

}  // namespace tether::camera
