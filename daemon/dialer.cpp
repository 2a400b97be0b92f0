#include "daemon/dialer.hpp"

#include "base/log.hpp"

namespace tether::daemon {

dialer::dialer(device_registry& devices, std::uint32_t device_id, std::uint16_t port,
               std::string who, done_fn done)
    : devices_(devices),
      device_id_(device_id),
      port_(port),
      who_(std::move(who)),
      done_(std::move(done)) {}

std::shared_ptr<dialer> dialer::dial(device_registry& devices, std::uint32_t device_id,
                                     std::uint16_t port, std::string who, done_fn done) {
  auto d = std::make_shared<dialer>(devices, device_id, port, std::move(who), std::move(done));
  usbmux::phone_link* link = devices.find(device_id);
  if (link == nullptr) {
    d->finish(outcome::no_such_phone,
              "no phone with DeviceID " + std::to_string(device_id) + " (was it unplugged?)");
    return d;
  }
  auto id = link->session().connect(port, std::chrono::steady_clock::now());
  if (!id) {
    d->finish(outcome::failed, "cannot open a connection to port " + std::to_string(port) + " on " +
                                   link->facts().udid + ": " + id.error().message());
    return d;
  }
  d->conn_ = *id;
  devices.own(device_id, d->conn_, d);
  link->flush();
  return d;
}

void dialer::finish(outcome o, const std::string& why) {
  if (reported_) return;
  reported_ = true;
  auto done = std::move(done_);
  done(*this, o, why);
}

void dialer::cancel() {
  if (conn_ == 0) return;
  devices_.disown(device_id_, conn_);
  if (usbmux::phone_link* l = devices_.find(device_id_)) {
    (void)l->session().close(conn_, std::chrono::steady_clock::now());
    l->flush();
  }
  conn_ = 0;
}

void dialer::on_conn_event(const usbmux::event& e) {
  if (std::holds_alternative<usbmux::events::connected>(e)) {
    return finish(outcome::connected, {});
  }
  const auto* c = std::get_if<usbmux::events::closed>(&e);
  if (c == nullptr) return;  // readable/writable before a relay exists: it pumps at start
  if (reported_) {
    phone_closed_ = true;  // accepted, then reset before the relay took over
    return;
  }
  const std::string udid = devices_.udid_of(device_id_);
  const std::string where =
      "port " + std::to_string(port_) + " on " + (udid.empty() ? "the phone" : udid);
  std::string detail = c->detail.empty() ? "" : " (" + c->detail + ")";
  outcome o = outcome::failed;
  std::string why;
  switch (c->reason) {
    case usbmux::close_reason::refused:
      o = outcome::refused;
      why = where + " is closed" + detail + ": is the app running?";
      break;
    case usbmux::close_reason::connect_timeout:
      o = outcome::timed_out;
      why = "the phone did not answer the connection to " + where + " in time: is it locked up?";
      break;
    case usbmux::close_reason::session_ended:
      o = outcome::phone_gone;
      why = "the phone went away while connecting to " + where + detail;
      break;
    default:
      why = "connection to " + where + " failed: " + usbmux::to_string(c->reason) + detail;
      break;
  }
  // A refused or failed connection is over on the phone's side; release our end.
  devices_.disown(device_id_, conn_);
  if (usbmux::phone_link* l = devices_.find(device_id_);
      l && c->reason != usbmux::close_reason::session_ended) {
    (void)l->session().close(conn_, std::chrono::steady_clock::now());
  }
  conn_ = 0;
  finish(o, why);
}

connection_status dialer::status() const {
  connection_status s;
  s.phone_port = port_;
  s.client = who_;
  s.state = reported_ ? "connected" : "connecting";
  s.seconds_open =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - since_)
          .count();
  return s;
}

}  // namespace tether::daemon
