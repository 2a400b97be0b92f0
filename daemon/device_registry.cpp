#include "daemon/device_registry.hpp"

#include <algorithm>

#include "base/log.hpp"
#include "base/result.hpp"

namespace tether::daemon {

std::vector<proto::usbmuxd::device> device_registry::devices() const {
  std::vector<proto::usbmuxd::device> out;
  for (const auto& [id, e] : devices_) out.push_back(e.info);
  return out;
}

usbmux::phone_link* device_registry::find(std::uint32_t device_id) const {
  auto it = devices_.find(device_id);
  return it == devices_.end() ? nullptr : it->second.link;
}

std::uint32_t device_registry::id_of(const usbmux::phone_link& link) const {
  auto it = ids_.find(&link);
  return it == ids_.end() ? 0 : it->second;
}

std::vector<proto::usbmuxd::listener> device_registry::listeners() const {
  std::vector<proto::usbmuxd::listener> out;
  for (const watcher* w : watchers_)
    if (w->listed()) out.push_back(w->describe());
  return out;
}

void device_registry::remove_watcher(watcher* w) {
  watchers_.erase(std::remove(watchers_.begin(), watchers_.end(), w), watchers_.end());
}

std::uint32_t device_registry::find_udid(const std::string& udid) const {
  for (const auto& [id, e] : devices_)
    if (e.info.udid == udid) return id;
  return 0;
}

std::string device_registry::udid_of(std::uint32_t device_id) const {
  auto it = devices_.find(device_id);
  return it == devices_.end() ? std::string() : it->second.info.udid;
}

std::vector<phone_status> device_registry::phones() const {
  std::vector<phone_status> out;
  const auto now = std::chrono::steady_clock::now();
  for (const auto& [id, e] : devices_) {
    const auto& f = e.link->facts();
    const auto& st = e.link->session().stats();
    phone_status p;
    p.device_id = id;
    p.udid = f.udid;
    p.product_id = f.product_id;
    p.speed_bps = f.speed_bps;
    p.configuration = f.configuration;
    p.location = f.location;
    p.seconds_attached = std::chrono::duration_cast<std::chrono::seconds>(now - e.since).count();
    p.connections_open = e.owners.size();
    p.connections_total = st.connections_opened;
    p.bytes_to_phone = st.payload_bytes_sent;
    p.bytes_from_phone = st.payload_bytes_received;
    p.packets_to_phone = st.packets_sent;
    p.packets_from_phone = st.packets_received;
    p.protocol_errors = st.anonymous_resets_sent + st.packets_ignored;
    out.push_back(std::move(p));
  }
  return out;
}

std::vector<std::string> device_registry::silent_phones() const {
  std::vector<std::string> out;
  for (const auto& [udid, since] : silent_) out.push_back(udid);
  return out;
}

std::vector<connection_status> device_registry::connections() const {
  std::vector<connection_status> out;
  for (const auto& [id, e] : devices_)
    for (const auto& [conn, owner] : e.owners) {
      auto c = owner->status();
      c.device_id = id;
      out.push_back(std::move(c));
    }
  return out;
}

void device_registry::paired(std::uint32_t device_id) {
  for (watcher* w : std::vector<watcher*>(watchers_)) w->on_paired(device_id);
}

void device_registry::own(std::uint32_t device_id, usbmux::conn_id id,
                          std::shared_ptr<conn_owner> o) {
  auto it = devices_.find(device_id);
  if (it == devices_.end()) return;
  it->second.link->session().set_user_data(id, o.get());
  auto& slot = it->second.owners[id];
  retire(std::move(slot));  // a dialer hands over to its relay from inside its own event
  slot = std::move(o);
}

void device_registry::disown(std::uint32_t device_id, usbmux::conn_id id) {
  auto it = devices_.find(device_id);
  if (it == devices_.end()) return;
  auto o = it->second.owners.find(id);
  if (o == it->second.owners.end()) return;
  it->second.link->session().set_user_data(id, nullptr);
  retire(std::move(o->second));
  it->second.owners.erase(o);
}

// An owner often lets go of itself from inside its own on_conn_event: it must live
// until that call returns.
void device_registry::retire(std::shared_ptr<conn_owner> o) {
  if (o && dispatching_ > 0) retired_.push_back(std::move(o));
}

void device_registry::on_ready(usbmux::phone_link& link) {
  const auto& f = link.facts();
  const auto now = std::chrono::steady_clock::now();
  if (auto s = silent_.find(f.udid); s != silent_.end()) {
    const auto waited =
        std::chrono::duration_cast<std::chrono::seconds>(now - s->second.since).count();
    log::info(f.udid + " answers after " + std::to_string(waited) +
              " s of silence: unlocked, it is served now");
    silent_.erase(s);
  }
  // Left over from the phone's previous host (tetherd killed, or another daemon): the
  // engine dropped them unread, as it must before the handshake is done.
  if (const auto n = link.session().stats().packets_before_handshake; n > 0)
    log::debug(f.udid + ": dropped " + std::to_string(n) +
               " packet(s) that came before the VERSION reply (left from an earlier session)");
  const std::uint32_t id = next_id_++;
  proto::usbmuxd::device d{id, f.udid, f.product_id, f.location, f.speed_bps};
  devices_[id] = entry{&link, d, {}, now};
  ids_[&link] = id;
  log::info("attached " + f.udid + " as device " + std::to_string(id) + ", " +
            std::to_string(f.speed_bps / 1'000'000) + " Mbit/s, configuration " +
            std::to_string(f.configuration) + ", location " + std::to_string(f.location));
  for (watcher* w : std::vector<watcher*>(watchers_)) w->on_attached(d);
  if (count_hook_) count_hook_(devices_.size());
}

// The per-chunk path: the event's id leads through the session's user data straight to
// its owner, with no lookup of the phone or the owner here.
void device_registry::on_event(usbmux::phone_link& link, const usbmux::event& e) {
  usbmux::conn_id conn = 0;
  bool has_conn = false;
  std::visit(
      [&](const auto& ev) {
        if constexpr (requires { ev.id; }) {
          conn = ev.id;
          has_conn = true;
        }
      },
      e);
  if (const auto* m = std::get_if<usbmux::events::control_message>(&e)) on_phone_message(link, *m);
  // A second handshake: the phone started its session over (a VERSION of its own inside
  // the live session); the engine closed the connections, each owner said so.
  if (std::holds_alternative<usbmux::events::handshake_done>(e))
    log::info(link.facts().udid + " (device " + std::to_string(id_of(link)) +
              ") restarted its mux session; its connections were closed, and it is served again");
  if (!has_conn) return;
  if (auto* owner = static_cast<conn_owner*>(link.session().user_data(conn))) {
    ++dispatching_;
    owner->on_conn_event(e);
    if (--dispatching_ == 0) retired_.clear();
  } else if (const auto* c = std::get_if<usbmux::events::closed>(&e)) {
    (void)link.session().close(c->id, std::chrono::steady_clock::now());
  }
}

void device_registry::on_gone(usbmux::phone_link& link, std::error_code why,
                              const std::string& detail) {
  const std::string reason = base::describe(why, detail);
  const std::uint32_t id = id_of(link);
  auto it = devices_.find(id);
  if (it == devices_.end()) {
    // It never became a device (the handshake failed or the phone left first): no
    // client knew it, but the log must say why a plugged phone is not listed.
    const auto& f = link.facts();
    const std::string phone = "phone at " + std::to_string(f.bus) + "-" +
                              std::to_string(f.address) +
                              (f.udid.empty() ? "" : " (" + f.udid + ")");
    // An unplug is the phone's choice; anything else is retried by the transport.
    if (why == usbmux::link_errc::unplugged) {
      log::debug(phone + " left before it was ready");
      silent_.erase(f.udid);
    } else if (why == usbmux::link_errc::handshake_failed && !f.udid.empty()) {
      // A locked phone enumerates and answers USB requests, but its mux is silent. The
      // transport asks again every few seconds; once in words is enough.
      if (silent_.try_emplace(f.udid, silence{std::chrono::steady_clock::now(), f.bus, f.address})
              .second)
        log::warn(phone +
                  " is attached but answers nothing: is it locked? waiting for it to be unlocked");
      else
        log::debug(phone + " still answers nothing; asking again");
    } else
      log::warn(phone + " failed before it was ready: " + reason + "; trying again");
    return;
  }
  log::info("detached " + it->second.info.udid + " (device " + std::to_string(id) + "): " + reason);
  // Every connection on the phone ends with it.
  auto owners = std::move(it->second.owners);
  devices_.erase(it);
  ids_.erase(&link);
  for (auto& [conn, owner] : owners)
    owner->on_conn_event(usbmux::events::closed{conn, usbmux::close_reason::session_ended, reason});
  for (watcher* w : std::vector<watcher*>(watchers_)) w->on_detached(id);
  if (count_hook_) count_hook_(devices_.size());
}

// CONTROL packets: the phone's own words. Type 7 (information: a session opened or
// closed) and 5 (warning) are the phone's kernel chatter, for debugging only; type 3
// (error) means the phone refused something tetherd sent, which tetherd must not do.
void device_registry::on_phone_message(const usbmux::phone_link& link,
                                       const usbmux::events::control_message& m) {
  const std::string line =
      link.facts().udid + " says (CONTROL type " + std::to_string(m.type) + "): " + m.text;
  if (m.type == 3)
    log::warn(line);
  else
    log::debug(line);
}

void device_registry::left_while_silent(std::uint8_t bus, std::uint8_t address) {
  std::erase_if(silent_,
                [&](const auto& s) { return s.second.bus == bus && s.second.address == address; });
}

void device_registry::note(const usbmux::phone_link& link, const std::string& what) {
  const std::uint32_t id = id_of(link);
  log::info(link.facts().udid + (id ? " (device " + std::to_string(id) + ")" : "") + ": " + what);
}

}  // namespace tether::daemon
