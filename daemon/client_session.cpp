#include "daemon/client_session.hpp"

#include <asio/write.hpp>
#include <chrono>
#include <cstring>

#include "daemon/log.hpp"

namespace tether::daemon {

using namespace proto::usbmuxd;

namespace {
constexpr std::size_t max_queued_messages = 1024;
auto now() { return std::chrono::steady_clock::now(); }
}  // namespace

client_session::client_session(asio::local::stream_protocol::socket socket,
                               device_registry& devices, const pair_records& records,
                               std::uint32_t number, const std::string& buid)
    : socket_(std::move(socket)),
      devices_(devices),
      records_(records),
      number_(number),
      buid_(buid) {}

client_session::~client_session() { devices_.remove_watcher(this); }

std::string client_session::who() const {
  return "client " + std::to_string(number_) +
         (client_.prog_name.empty() ? "" : " " + client_.prog_name);
}

void client_session::start() { read_commands(); }

void client_session::read_commands() {
  socket_.async_read_some(
      asio::buffer(in_buf_), [self = shared_from_this()](std::error_code ec, std::size_t n) {
        if (self->state_ == state::closed) return;
        if (ec) return self->close();  // the client went away (or closed its Listen socket)
        if (self->state_ != state::command) {
          // usbmuxd answers anything sent on a Listen socket, or before the Connect
          // result, by dropping the socket.
          log::warn(self->who() + ": sent data on a " +
                    (self->state_ == state::listening ? "Listen" : "connecting") +
                    " socket: closing it");
          return self->close();
        }
        if (auto err = self->reader_.feed(std::span(self->in_buf_).first(n))) {
          log::warn(self->who() + ": " + err.message() + ": closing the socket");
          return self->close();
        }
        while (auto m = self->reader_.next()) {
          auto decoded = decode_request(m->head, m->body);
          if (auto* err = std::get_if<std::error_code>(&decoded)) {
            if (*err == errc::bad_version) {
              self->queue(encode_result(m->head.tag, result_code::bad_version, self->plist_));
            } else {
              log::warn(self->who() + ": ignored a request: " + err->message());
            }
            continue;
          }
          self->handle(std::get<request>(decoded));
          if (self->state_ != state::command) break;
        }
        // While connecting nothing is read: the relay takes the socket over once connected.
        if (self->state_ == state::command || self->state_ == state::listening)
          self->read_commands();
      });
}

void client_session::handle(const request& r) {
  if (r.plist) plist_ = true;
  if (!r.client.prog_name.empty()) client_ = r.client;
  log::debug(who() + ": request " + std::to_string(r.body.index()) + " (tag " +
             std::to_string(r.tag) + ", " + (r.plist ? "plist" : "binary") + ")");
  std::visit(
      [&](const auto& body) {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, requests::list_devices>) {
          const auto list = devices_.devices();
          queue(encode_device_list(r.tag, list));
        } else if constexpr (std::is_same_v<T, requests::listen>) {
          queue(encode_result(r.tag, result_code::ok, plist_));
          state_ = state::listening;
          for (const auto& d : devices_.devices()) queue(encode_attached(d, plist_));
          devices_.add_watcher(this);
          log::debug(who() + ": listening for devices");
        } else if constexpr (std::is_same_v<T, requests::connect>) {
          start_connect(r, body);
        } else if constexpr (std::is_same_v<T, requests::list_listeners>) {
          const auto list = devices_.listeners();
          queue(encode_listener_list(r.tag, list));
        } else if constexpr (std::is_same_v<T, requests::read_buid>) {
          queue(encode_buid(r.tag, buid_));
        } else if constexpr (std::is_same_v<T, requests::read_pair_record>) {
          // Pair-record commands answer errno values in Number, as usbmuxd does.
          auto record = records_.read(body.id);
          if (auto* data = std::get_if<std::vector<std::byte>>(&record)) {
            queue(encode_pair_record_data(r.tag, *data));
          } else {
            queue(encode_result_number(r.tag, static_cast<std::uint32_t>(std::get<int>(record)),
                                       plist_));
          }
        } else if constexpr (std::is_same_v<T, requests::save_pair_record>) {
          const int e = records_.save(body.id, body.data);
          if (e != 0)
            log::warn(who() + ": pair record for '" + body.id + "' not saved: " + std::strerror(e));
          queue(encode_result_number(r.tag, static_cast<std::uint32_t>(e), plist_));
        } else if constexpr (std::is_same_v<T, requests::delete_pair_record>) {
          queue(encode_result_number(r.tag, static_cast<std::uint32_t>(records_.remove(body.id)),
                                     plist_));
        } else {
          queue(encode_result(r.tag, result_code::bad_command, plist_));
        }
      },
      r.body);
}

void client_session::start_connect(const request& r, const requests::connect& c) {
  usb::device_link* l = c.device_id ? devices_.find(*c.device_id) : nullptr;
  if (l == nullptr) {
    log::info(who() + ": connect to device " + (c.device_id ? std::to_string(*c.device_id) : "?") +
              ": no such phone");
    return queue(encode_result(r.tag, result_code::bad_device, plist_));
  }
  if (!c.port) return queue(encode_result(r.tag, result_code::bad_command, plist_));
  auto id = l->session().connect(*c.port, now());
  if (!id) {
    log::warn(who() + ": connect to port " + std::to_string(*c.port) + ": " + id.error().message());
    return queue(encode_result(r.tag, result_code::bad_device, plist_));
  }
  device_id_ = *c.device_id;
  conn_ = *id;
  port_ = *c.port;
  connect_tag_ = r.tag;
  state_ = state::connecting;
  // The registry keeps this session alive while the connection exists (nothing else
  // may be pending while connecting); every way out disowns it.
  devices_.own(device_id_, conn_,
               [self = shared_from_this()](const usbmux::event& e) { self->on_conn_event(e); });
  l->flush();
}

void client_session::on_conn_event(const usbmux::event& e) {
  if (std::holds_alternative<usbmux::events::connected>(e) && state_ == state::connecting) {
    log::info(who() + ": connected to port " + std::to_string(port_) + " on device " +
              std::to_string(device_id_));
    queue(encode_result(connect_tag_, result_code::ok, plist_));
    state_ = state::connected;  // raw bytes from now on, after the Result is written
    pump_to_phone();
    return;
  }
  if (const auto* c = std::get_if<usbmux::events::closed>(&e)) {
    if (state_ == state::connecting) {
      log::info(who() + ": port " + std::to_string(port_) + " on device " +
                std::to_string(device_id_) + " refused" +
                (c->detail.empty() ? "" : " (" + c->detail + ")") + ": is the app running?");
      devices_.disown(device_id_, conn_);
      if (usb::device_link* l = link(); l && c->reason != usbmux::close_reason::session_ended)
        (void)l->session().close(conn_, now());
      conn_ = 0;
      state_ = state::command;  // another command may follow, as with usbmuxd
      queue(encode_result(connect_tag_, result_code::connection_refused, plist_));
      return;
    }
    phone_closed_ = true;
    if (c->reason == usbmux::close_reason::session_ended) {  // the phone is gone
      return finish_relay("phone gone: " + c->detail);
    }
    pump_to_client();  // deliver what the phone sent before its RST, then close
    return;
  }
  if (std::holds_alternative<usbmux::events::readable>(e)) return pump_to_client();
  if (std::holds_alternative<usbmux::events::writable>(e)) return pump_to_phone();
}

void client_session::queue(std::vector<std::byte> message) {
  if (out_.size() >= max_queued_messages) {
    log::warn(who() + ": does not read its socket: dropping it");
    return close();
  }
  out_.push_back(std::move(message));
  write_queued();
}

void client_session::write_queued() {
  if (writing_ || out_.empty() || state_ == state::closed) return;
  writing_ = true;
  asio::async_write(socket_, asio::buffer(out_.front()),
                    [self = shared_from_this()](std::error_code ec, std::size_t) {
                      self->writing_ = false;
                      if (ec) return self->close();
                      self->out_.pop_front();
                      if (!self->out_.empty()) return self->write_queued();
                      if (self->state_ == state::connected) self->pump_to_client();
                    });
}

// Phone -> client: one write at a time; the phone's bytes are consumed (acknowledged)
// only once written, so a slow client holds the phone back through the window.
void client_session::pump_to_client() {
  if (state_ != state::connected || writing_ || !out_.empty()) return;
  usb::device_link* l = link();
  if (l == nullptr) return finish_relay("phone gone");
  const auto data = l->session().received(conn_);
  if (data.empty()) {
    if (phone_closed_) finish_relay("the phone closed the connection");
    return;
  }
  to_client_.assign(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(
                                                     std::min<std::size_t>(data.size(), 65536)));
  writing_ = true;
  asio::async_write(socket_, asio::buffer(to_client_),
                    [self = shared_from_this()](std::error_code ec, std::size_t n) {
                      self->writing_ = false;
                      if (ec) return self->finish_relay("client went away");
                      self->bytes_down_ += n;
                      if (usb::device_link* lk = self->link()) {
                        lk->session().consume(self->conn_, n);
                        lk->flush();
                      }
                      self->pump_to_client();
                    });
}

// Client -> phone. Bytes read from the client wait in `to_phone_` (at most one read,
// 64 KiB) until the mux connection takes them; a short send arms `writable`, which
// calls back here. The client is not read again until they have all gone.
void client_session::pump_to_phone() {
  if (state_ != state::connected || reading_client_ || phone_closed_) return;
  usb::device_link* l = link();
  if (l == nullptr) return finish_relay("phone gone");
  if (!to_phone_.empty()) {
    const auto took = l->session().send(conn_, to_phone_);
    if (!took) return finish_relay(took.error().message());
    to_phone_.erase(to_phone_.begin(), to_phone_.begin() + static_cast<std::ptrdiff_t>(*took));
    bytes_up_ += *took;
    l->flush();
    if (!to_phone_.empty()) return;
  }
  reading_client_ = true;
  socket_.async_read_some(
      asio::buffer(in_buf_), [self = shared_from_this()](std::error_code ec, std::size_t n) {
        self->reading_client_ = false;
        if (self->state_ != state::connected) return;
        if (ec) return self->finish_relay("client closed the connection");
        self->to_phone_.assign(self->in_buf_.begin(),
                               self->in_buf_.begin() + static_cast<std::ptrdiff_t>(n));
        self->pump_to_phone();
      });
}

void client_session::finish_relay(const std::string& why) {
  if (state_ == state::closed) return;
  log::info(who() + ": port " + std::to_string(port_) + " on device " + std::to_string(device_id_) +
            " ended (" + why + "), " + std::to_string(bytes_up_) + " bytes to the phone, " +
            std::to_string(bytes_down_) + " from it");
  close();
}

void client_session::close() {
  if (state_ == state::closed) return;
  const bool had_conn = conn_ != 0 && (state_ == state::connected || state_ == state::connecting);
  state_ = state::closed;
  devices_.remove_watcher(this);
  if (had_conn) {
    devices_.disown(device_id_, conn_);
    if (usb::device_link* l = link()) {
      (void)l->session().close(conn_, now());  // flushes what the client sent, then RST
      l->flush();
    }
  }
  std::error_code ignored;
  socket_.close(ignored);
}

void client_session::on_attached(const device& d) { queue(encode_attached(d, plist_)); }
void client_session::on_detached(std::uint32_t device_id) {
  queue(encode_detached(device_id, plist_));
}

}  // namespace tether::daemon
