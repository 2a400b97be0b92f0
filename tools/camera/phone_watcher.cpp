#include "tools/camera/phone_watcher.hpp"

#include <algorithm>

#include "base/log.hpp"
#include "camera/controller_session.hpp"

namespace tether::camera {

using namespace std::chrono_literals;

namespace {
constexpr auto dial_first = 100ms;
constexpr auto dial_max = 2000ms;
constexpr auto listen_first = 500ms;
constexpr auto listen_max = 5000ms;
// An app that accepted and has not said hello by then is taken to be in the background
// (the kernel accepts for a suspended app): as long as `tether cam --phone` waits.
constexpr auto hello_limit = 5s;

std::chrono::milliseconds next_backoff(std::chrono::milliseconds b, std::chrono::milliseconds first,
                                       std::chrono::milliseconds max) {
  return b == 0ms ? first : std::min(b * 2, max);
}
}  // namespace

phone_watcher::phone_watcher(session_hub& hub, std::string daemon_address, std::uint16_t port)
    : hub_(hub), address_(std::move(daemon_address)), port_(port), listen_timer_(hub.io()) {}

phone_watcher::~phone_watcher() {
  stopping_ = true;
  if (listener_) listener_->close();
  for (auto& [udid, p] : phones_) {
    p->timer.cancel();
    if (p->session) p->session->close("the camera service is stopping");
  }
}

void phone_watcher::start() { listen(); }

void phone_watcher::listen() {
  if (stopping_) return;
  auto c = std::make_shared<mux_connection>(hub_.io(), address_);
  listener_ = c;
  c->connect([this, c](const std::string& error) {
    if (stopping_ || c != listener_) return;
    if (!error.empty()) {
      if (!listen_failure_logged_) log::warn("phones: " + error + "; retrying");
      listen_failure_logged_ = true;
      listen_later();
      return;
    }
    plist_t req = plist_new_dict();
    plist_dict_set_item(req, "MessageType", plist_new_string("Listen"));
    c->send(req);
    c->read_message([this, c](proto::plist_ptr reply, const std::string& err) {
      if (stopping_ || c != listener_) return;
      const auto n = reply ? proto::uint_item(reply.get(), "Number") : std::nullopt;
      if (!reply || n != 0u) {
        log::warn("phones: the daemon at " + address_ + " refused Listen" +
                  (err.empty() ? "" : ": " + err) + "; retrying");
        listen_later();
        return;
      }
      log::info("phones: watching " + address_ + " for phones; the app's port is " +
                std::to_string(port_));
      listen_backoff_ = 0ms;
      listen_failure_logged_ = false;
      read_events(c);
    });
  });
}

void phone_watcher::read_events(std::shared_ptr<mux_connection> c) {
  c->read_message([this, c](proto::plist_ptr m, const std::string& err) {
    if (stopping_ || c != listener_) return;
    if (!m) {
      log::warn("phones: lost the daemon at " + address_ + " (" + err + "); listening again");
      // Its relays went with it: sessions end on their own. Forget attachments, keep
      // the phones' records for their log state.
      for (auto& [udid, p] : phones_) {
        p->attached = false;
        p->timer.cancel();
      }
      listen_later();
      return;
    }
    on_event(m.get());
    read_events(c);
  });
}

void phone_watcher::listen_later() {
  listen_backoff_ = next_backoff(listen_backoff_, listen_first, listen_max);
  listen_timer_.expires_after(listen_backoff_);
  listen_timer_.async_wait([this](std::error_code ec) {
    if (!ec) listen();
  });
}

void phone_watcher::on_event(plist_t m) {
  const auto type = proto::string_item(m, "MessageType").value_or("");
  const auto id = proto::uint_item(m, "DeviceID");
  if (type == "Attached" && id) {
    plist_t props = plist_dict_get_item(m, "Properties");
    if (props == nullptr) return;
    const auto conn = proto::string_item(props, "ConnectionType").value_or("USB");
    if (conn != "USB") return;  // network phones: not ours
    const auto udid =
        proto::string_item(props, "SerialNumber").value_or("device " + std::to_string(*id));
    auto& p = phones_[udid];
    if (!p) p = std::make_shared<phone>(hub_.io());
    p->udid = udid;
    p->device_id = static_cast<std::uint32_t>(*id);
    p->attached = true;
    p->backoff = 0ms;
    p->refusal_logged = false;
    log::info("phone " + udid + ": attached as device " + std::to_string(*id));
    if (!p->session && !p->dialing) dial(p);
  } else if (type == "Detached" && id) {
    for (auto& [udid, p] : phones_) {
      if (p->attached && p->device_id == *id) {
        log::info("phone " + udid + ": detached");
        p->attached = false;
        p->timer.cancel();
        if (p->session) p->session->close("the phone was unplugged");
      }
    }
  }
}

void phone_watcher::dial(const std::shared_ptr<phone>& p) {
  if (stopping_ || !p->attached) return;
  p->dialing = true;
  auto c = std::make_shared<mux_connection>(hub_.io(), address_);
  std::weak_ptr<phone> weak = p;
  c->connect([this, c, weak](const std::string& error) {
    auto ph = weak.lock();
    if (stopping_ || !ph) return;
    if (!error.empty()) {
      ph->dialing = false;
      log::warn("phone " + ph->udid + ": " + error);
      dial_later(ph);
      return;
    }
    plist_t req = plist_new_dict();
    plist_dict_set_item(req, "MessageType", plist_new_string("Connect"));
    plist_dict_set_item(req, "DeviceID", plist_new_uint(ph->device_id));
    // usbmuxd takes the port in network byte order, as an integer.
    plist_dict_set_item(req, "PortNumber",
                        plist_new_uint(static_cast<std::uint16_t>((port_ >> 8) | (port_ << 8))));
    c->send(req);
    c->read_message([this, c, weak](proto::plist_ptr reply, const std::string& err) {
      auto q = weak.lock();
      if (stopping_ || !q) return;
      q->dialing = false;
      const auto n = reply ? proto::uint_item(reply.get(), "Number") : std::nullopt;
      if (!q->attached) return;  // unplugged meanwhile
      if (n == 0u) {
        q->refusal_logged = false;
        q->connected_at = std::chrono::steady_clock::now();
        std::weak_ptr<phone> w = q;
        q->session = hub_.start_session(
            c->take_socket(), "phone " + q->udid, {},
            [this, w] {
              auto again = w.lock();
              if (stopping_ || !again) return;
              if (again->session && again->session->heard_from()) {
                again->hello_missed = false;
                silent_apps_.forget(again->udid);  // the next silence is news
              }
              again->session.reset();
              // The app quit or restarted: try at once, then back off while refused. An
              // app that accepts and hangs up at once keeps its back-off, and so does one
              // that accepts and says nothing.
              if (std::chrono::steady_clock::now() - again->connected_at > 2s &&
                  !again->hello_missed)
                again->backoff = 0ms;
              if (again->attached) dial_later(again);
            },
            q->hello_missed);
        q->session->set_peer_words("the app on port " + std::to_string(port_));
        await_hello(q);
        return;
      }
      if (n == 3u) {
        if (!q->refusal_logged)
          log::info("phone " + q->udid + ": port " + std::to_string(port_) +
                    " is closed: is the app running? Retrying until it listens");
        q->refusal_logged = true;
      } else {
        log::warn("phone " + q->udid + ": connecting to port " + std::to_string(port_) +
                  " failed: " + (reply ? "result " + std::to_string(n.value_or(99)) : err));
      }
      dial_later(q);
    });
  });
}

void phone_watcher::await_hello(const std::shared_ptr<phone>& p) {
  std::weak_ptr<phone> weak = p;
  std::weak_ptr<controller_session> session = p->session;
  p->timer.expires_after(hello_limit);
  p->timer.async_wait([this, weak, session](std::error_code ec) {
    auto ph = weak.lock();
    auto s = session.lock();
    if (ec || stopping_ || !ph || !s || ph->session != s) return;
    const std::string key = ph->udid;
    if (s->heard_from()) {
      ph->hello_missed = false;
      silent_apps_.forget(key);  // the next silence is news
      return;
    }
    ph->hello_missed = true;
    if (const auto line = silent_apps_.note(
            key,
            "phone " + ph->udid + ": the app on port " + std::to_string(port_) +
                " accepted but has not said hello within " + std::to_string(hello_limit.count()) +
                " s: it may be in the background; trying again",
            std::chrono::steady_clock::now()))
      log::info(*line);
    s->close_unlogged();
  });
}

void phone_watcher::dial_later(const std::shared_ptr<phone>& p) {
  const bool first = p->backoff == 0ms;
  p->backoff = next_backoff(p->backoff, dial_first, dial_max);
  p->timer.expires_after(first ? 0ms : p->backoff);
  std::weak_ptr<phone> weak = p;
  p->timer.async_wait([this, weak](std::error_code ec) {
    auto ph = weak.lock();
    if (!ec && ph && !ph->session && !ph->dialing) dial(ph);
  });
}

}  // namespace tether::camera
