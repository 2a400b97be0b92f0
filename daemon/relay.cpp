#include "daemon/relay.hpp"

#include <asio/write.hpp>

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
      chunk_(chunk) {}

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

// Phone -> client, one write at a time; bytes are consumed (acknowledged) only once
// written, so a slow client holds the phone back through the window.
void relay::pump_to_client() {
  if (done_ || writing_) return;
  usbmux::phone_link* l = link();
  if (l == nullptr) return finish("phone gone");
  const auto data = l->session().received(conn_);
  if (data.empty()) {
    if (phone_closed_) finish("the phone closed the connection");
    return;
  }
  to_client_.assign(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(
                                                     std::min<std::size_t>(data.size(), chunk_)));
  writing_ = true;
  asio::async_write(socket_, asio::buffer(to_client_),
                    [self = shared_from_this()](std::error_code ec, std::size_t n) {
                      self->writing_ = false;
                      if (self->done_) return;
                      if (ec) return self->finish("client went away");
                      self->totals_.from_phone += n;
                      if (usbmux::phone_link* lk = self->link()) {
                        lk->session().consume(self->conn_, n, std::chrono::steady_clock::now());
                        lk->flush();
                      }
                      self->pump_to_client();
                    });
}

// Client -> phone. One read (at most 64 KiB) waits in `to_phone_` until the mux
// connection takes it; a short send arms `writable`, which calls back here.
void relay::pump_to_phone() {
  if (done_ || reading_ || phone_closed_) return;
  usbmux::phone_link* l = link();
  if (l == nullptr) return finish("phone gone");
  if (!to_phone_.empty()) {
    const auto took = l->session().send(conn_, to_phone_);
    if (!took) return finish(took.error().message());
    to_phone_.erase(to_phone_.begin(), to_phone_.begin() + static_cast<std::ptrdiff_t>(*took));
    totals_.to_phone += *took;
    l->flush();
    if (!to_phone_.empty()) return;
  }
  reading_ = true;
  socket_.async_read_some(asio::buffer(read_buf_.get(), chunk_),
                          [self = shared_from_this()](std::error_code ec, std::size_t n) {
                            self->reading_ = false;
                            if (self->done_) return;
                            if (ec) return self->finish("client closed the connection");
                            self->to_phone_.assign(self->read_buf_.get(),
                                                   self->read_buf_.get() + n);
                            self->pump_to_phone();
                          });
}

void relay::finish(const std::string& why) {
  if (done_) return;
  done_ = true;
  auto self = shared_from_this();  // disown() may drop the registry's reference
  log::info(who_ + ": port " + std::to_string(port_) + " on device " + std::to_string(device_id_) +
            " ended (" + why + "), " + std::to_string(totals_.to_phone) + " bytes to the phone, " +
            std::to_string(totals_.from_phone) + " from it");
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
