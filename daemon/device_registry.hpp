#pragma once
// The phones tetherd serves, as clients see them: each usable phone gets a DeviceID
// from a counter that only moves forward (a replugged phone gets a new one, as with
// usbmuxd; clients key on the UDID). Listeners hear Attached/Detached; connection
// events go to whoever opened the connection.
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "proto/usbmuxd/wire.hpp"
#include "usbmux/usb/usb_host.hpp"

namespace tether::daemon {

class device_registry : public usb::usb_host::listener {
 public:
  struct watcher {
    virtual ~watcher() = default;
    virtual void on_attached(const proto::usbmuxd::device& d) = 0;
    virtual void on_detached(std::uint32_t device_id) = 0;
    virtual proto::usbmuxd::listener describe() const = 0;  // for ListListeners
  };
  // Whoever owns a mux connection hears its events.
  using conn_handler = std::function<void(const usbmux::event&)>;

  std::vector<proto::usbmuxd::device> devices() const;
  usb::device_link* find(std::uint32_t device_id) const;
  std::uint32_t id_of(const usb::device_link& link) const;

  void add_watcher(watcher* w) { watchers_.push_back(w); }
  std::vector<proto::usbmuxd::listener> listeners() const;
  void remove_watcher(watcher* w);

  void own(std::uint32_t device_id, usbmux::conn_id id, conn_handler h);
  void disown(std::uint32_t device_id, usbmux::conn_id id);

 private:
  void on_ready(usb::device_link& link) override;
  void on_event(usb::device_link& link, const usbmux::event& e) override;
  void on_gone(usb::device_link& link, const std::string& reason) override;
  void on_attach_failed(std::uint8_t bus, std::uint8_t address, const std::string& what,
                        std::error_code ec) override;

  struct entry {
    usb::device_link* link;
    proto::usbmuxd::device info;
    std::map<usbmux::conn_id, conn_handler> owners;
  };
  std::map<std::uint32_t, entry> devices_;
  std::uint32_t next_id_ = 1;
  std::vector<watcher*> watchers_;
};

}  // namespace tether::daemon
