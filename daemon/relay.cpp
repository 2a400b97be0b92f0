#include "daemon/relay.hpp"

#include <asio/post.hpp>

#include "base/log.hpp"

namespace tether::daemon {

relay::relay(socket_type socket, device_registry& devices, std::uint32_t device_id,
             usbmux::conn_id conn, std::uint16_t port, std::string who, bool phone_closed,
             std::vector<std::byte> first_to_phone, ended_fn ended, std::size_t chunk)
    : socket_(std::move(socket)),
      devices_(devices),
      device_id_(device_id),
      conn_(conn),
      port_(port),
      who_(std::move(who)),
      phone_closed_(phone_closed),
      ended_(std::move(ended)),
      to_phone_(std::move(first_to_phone)),
      chunk_(chunk) {
  std::error_code ignored;  // a socket that cannot be non-blocking fails its first read
  socket_.non_blocking(true, ignored);
}

void relay::watch_answers(asio::io_context& io, std::chrono::milliseconds limit,
                          std::function<void(bool)> silent) {
  answers_.emplace(limit);
  answer_timer_ = std::make_unique<base::quiet_timer>(io);
  silent_ = std::move(silent);
}

// Bytes went to the phone: if that starts a wait for its answer, time the wait.
void relay::sent_to_phone() {
  if (!answers_) return;
  const auto due = answers_->waiting(std::chrono::steady_clock::now());
  if (!due) return;
  answer_timer_->expires_at(*due);
  answer_timer_->async_wait([self = shared_from_this()](std::error_code ec) {
    if (!ec && !self->done_) self->check_answer();
  });
}

void relay::check_answer() {
  if (answers_->due(std::chrono::steady_clock::now())) {
    if (silent_) silent_(true);
  } else if (const auto due = answers_->deadline()) {  // the wait restarted meanwhile
    answer_timer_->expires_at(*due);
    answer_timer_->async_wait([self = shared_from_this()](std::error_code ec) {
      if (!ec && !self->done_) self->check_answer();
    });
  }
}

void relay::start() {
  link_ = devices_.find(device_id_);
  devices_.own(device_id_, conn_, shared_from_this());
  pump_to_client();
  pump_to_phone();
}

void relay::on_conn_event(const usbmux::event& e) {
  if (const auto* c = std::get_if<usbmux::events::closed>(&e)) {
    phone_closed_ = true;
    if (c->reason == usbmux::close_reason::session_ended) {
      link_ = nullptr;  // the phone is going: its session is not ours to touch any more
      return finish("phone gone: " + c->detail);
    }
    return pump_to_client();  // deliver what the phone sent before its RST, then close
  }
  if (std::holds_alternative<usbmux::events::readable>(e)) return pump_to_client();
  if (std::holds_alternative<usbmux::events::writable>(e)) return pump_to_phone();
}

// Phone -> client, written straight from the session's receive buffer: try a
// non-blocking write, and only when the socket is full wait for it to drain. Nothing
// runs between received() and the write, so the span cannot move under it (an
// async_write would need a copy that stays put). Bytes are consumed (acknowledged) only
// once written, so a slow client holds the phone back through the window.
void relay::pump_to_client() {
  if (done_ || writing_) return;
  usbmux::phone_link* l = link();
  if (l == nullptr) return finish("phone gone");
  std::size_t wrote = 0;
  std::error_code ec;
  for (;;) {
    const auto data = l->session().received(conn_);
    if (data.empty()) break;
    const std::size_t n =
        socket_.write_some(asio::buffer(data.data(), std::min(data.size(), chunk_)), ec);
    if (ec) break;
    wrote += n;
    l->session().consume(conn_, n, std::chrono::steady_clock::now());
  }
  if (wrote != 0) {  // one flush for the turn: its consume() calls make one ACK
    totals_.from_phone += wrote;
    l->flush();
    if (answers_ && answers_->answered() && silent_) silent_(false);
    if (auto first = std::move(first_from_phone_)) {
      first_from_phone_ = nullptr;
      first();
      if (done_) return;
    }
  }
  if (ec && ec != asio::error::would_block && ec != asio::error::try_again) {
    return finish("client went away");
  }
  if (!ec) {  // everything received is written
    if (phone_closed_) finish("the phone closed the connection");
    return;
  }
  writing_ = true;
  socket_.async_wait(socket_type::wait_write, [self = shared_from_this()](std::error_code e) {
    self->writing_ = false;
    if (self->done_) return;
    if (e) return self->finish("client went away");
    self->pump_to_client();
  });
}

// Client -> phone, read straight into the session's send buffer (prepare/commit):
// the packing into USB packets is then the only copy in user space. One read per
// turn, each committed (and flushed) before the next, so the read size bounds the
// packets; a full send buffer returns and its `writable` event calls back here.
void relay::pump_to_phone() {
  if (done_ || reading_ || phone_closed_) return;
  usbmux::phone_link* l = link();
  if (l == nullptr) return finish("phone gone");
  if (!to_phone_.empty()) {  // what the client sent with its Connect request
    const auto took = l->session().send(conn_, to_phone_);
    if (!took) return finish(took.error().message());
    to_phone_.erase(to_phone_.begin(), to_phone_.begin() + static_cast<std::ptrdiff_t>(*took));
    totals_.to_phone += *took;
    l->flush();
    if (*took != 0) sent_to_phone();
    if (!to_phone_.empty()) return;
  }
  const auto room = l->session().prepare(conn_, chunk_);
  if (!room) return finish(room.error().message());
  if (room->empty()) return;  // the send buffer is full: `writable` calls back
  std::error_code ec;
  const std::size_t n = socket_.read_some(asio::buffer(room->data(), room->size()), ec);
  const bool wait = ec == asio::error::would_block || ec == asio::error::try_again;
  if (ec && !wait) return finish("client closed the connection");
  if (const auto took = l->session().commit(conn_, wait ? 0 : n); !took) {
    return finish(took.error().message());
  }
  totals_.to_phone += wait ? 0 : n;
  if (!wait) {
    l->flush();
    sent_to_phone();
  }
  // After a read, come back through the io_context (fairness, and the flush runs
  // first); after EAGAIN, wait for the socket: its next edge wakes us.
  reading_ = true;
  auto again = [self = shared_from_this()](std::error_code e = {}) {
    self->reading_ = false;
    if (self->done_) return;
    if (e) return self->finish("client closed the connection");
    self->pump_to_phone();
  };
  if (wait) return socket_.async_wait(socket_type::wait_read, std::move(again));
  asio::post(socket_.get_executor(), std::move(again));
}

void relay::finish(const std::string& why) {
  if (done_) return;
  done_ = true;
  auto self = shared_from_this();  // disown() may drop the registry's reference
  log::info(who_ + ": port " + std::to_string(port_) + " on device " + std::to_string(device_id_) +
            " ended (" + why + "), " + std::to_string(totals_.to_phone) + " bytes to the phone, " +
            std::to_string(totals_.from_phone) + " from it");
  if (answer_timer_) answer_timer_->cancel();
  devices_.disown(device_id_, conn_);
  if (usbmux::phone_link* l = link()) {
    (void)l->session().close(conn_, std::chrono::steady_clock::now());  // flush, then RST
    l->flush();
  }
  std::error_code ignored;
  socket_.close(ignored);
  if (auto ended = std::move(ended_)) ended(totals_, why);
}

connection_status relay::status() const {
  connection_status s;
  s.phone_port = port_;
  s.client = who_;
  s.state = "connected";
  s.seconds_open =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - since_)
          .count();
  s.bytes_to_phone = totals_.to_phone;
  s.bytes_from_phone = totals_.from_phone;
  return s;
}

}  // namespace tether::daemon
