#include "daemon/device_registry.hpp"

#include <algorithm>

#include "daemon/log.hpp"

namespace tether::daemon {

std::vector<proto::usbmuxd::device> device_registry::devices() const {
  std::vector<proto::usbmuxd::device> out;
  for (const auto& [id, e] : devices_) out.push_back(e.info);
  return out;
}

usb::device_link* device_registry::find(std::uint32_t device_id) const {
  auto it = devices_.find(device_id);
  return it == devices_.end() ? nullptr : it->second.link;
}

std::uint32_t device_registry::id_of(const usb::device_link& link) const {
  for (const auto& [id, e] : devices_)
    if (e.link == &link) return id;
  return 0;
}

std::vector<proto::usbmuxd::listener> device_registry::listeners() const {
  std::vector<proto::usbmuxd::listener> out;
  for (const watcher* w : watchers_) out.push_back(w->describe());
  return out;
}

void device_registry::remove_watcher(watcher* w) {
  watchers_.erase(std::remove(watchers_.begin(), watchers_.end(), w), watchers_.end());
}

void device_registry::own(std::uint32_t device_id, usbmux::conn_id id, conn_handler h) {
  if (auto it = devices_.find(device_id); it != devices_.end())
    it->second.owners[id] = std::move(h);
}

void device_registry::disown(std::uint32_t device_id, usbmux::conn_id id) {
  if (auto it = devices_.find(device_id); it != devices_.end()) it->second.owners.erase(id);
}

void device_registry::on_ready(usb::device_link& link) {
  const auto& f = link.facts();
  const std::uint32_t id = next_id_++;
  proto::usbmuxd::device d{id, f.udid, f.product_id, f.location, f.speed_bps};
  devices_[id] = entry{&link, d, {}};
  log::info("attached " + f.udid + " as device " + std::to_string(id) + ", " +
            std::to_string(f.speed_bps / 1'000'000) + " Mbit/s, configuration " +
            std::to_string(f.mux.configuration) + ", location " + std::to_string(f.location));
  for (watcher* w : std::vector<watcher*>(watchers_)) w->on_attached(d);
}

void device_registry::on_event(usb::device_link& link, const usbmux::event& e) {
  const std::uint32_t device_id = id_of(link);
  auto it = devices_.find(device_id);
  if (it == devices_.end()) return;
  usbmux::conn_id conn = 0;
  std::visit(
      [&](const auto& ev) {
        if constexpr (requires { ev.id; }) conn = ev.id;
      },
      e);
  if (auto o = it->second.owners.find(conn); o != it->second.owners.end()) {
    auto handler = o->second;  // the handler may disown itself
    handler(e);
  } else if (const auto* c = std::get_if<usbmux::events::closed>(&e)) {
    (void)link.session().close(c->id, std::chrono::steady_clock::now());
  }
}

void device_registry::on_gone(usb::device_link& link, const std::string& reason) {
  const std::uint32_t id = id_of(link);
  auto it = devices_.find(id);
  if (it == devices_.end()) return;
  log::info("detached " + it->second.info.udid + " (device " + std::to_string(id) + "): " + reason);
  // Every connection on the phone ends with it.
  auto owners = std::move(it->second.owners);
  devices_.erase(it);
  for (auto& [conn, handler] : owners)
    handler(usbmux::events::closed{conn, usbmux::close_reason::session_ended, reason});
  for (watcher* w : std::vector<watcher*>(watchers_)) w->on_detached(id);
}

void device_registry::on_attach_failed(std::uint8_t bus, std::uint8_t address,
                                       const std::string& what, std::error_code ec) {
  log::warn("phone at " + std::to_string(bus) + "-" + std::to_string(address) + ": " + what + ": " +
            ec.message());
}

}  // namespace tether::daemon
