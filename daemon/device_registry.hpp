#pragma once
// The phones tetherd serves, as clients see them: each usable phone gets a DeviceID
// from a counter that only moves forward (a replugged phone gets a new one, as with
// usbmuxd; clients key on the UDID). Listeners hear Attached/Detached; connection
// events go to whoever opened the connection. The phones come through the
// usbmux::phone_link interface: over USB in tetherd (usb_phones.hpp joins usb_host to
// it), over usbmux/testing's memory_phone in the daemon's unit tests.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "proto/tetherd/control.hpp"
#include "proto/usbmuxd/wire.hpp"
#include "usbmux/core/phone_link.hpp"

namespace tether::daemon {

using proto::tetherd::connection_status;
using proto::tetherd::phone_status;

class device_registry : public usbmux::phone_link::listener {
 public:
  struct watcher {
    virtual ~watcher() = default;
    virtual void on_attached(const proto::usbmuxd::device& d) = 0;
    virtual void on_detached(std::uint32_t device_id) = 0;
    virtual void on_paired(std::uint32_t device_id) = 0;
    virtual proto::usbmuxd::listener describe() const = 0;  // for ListListeners
    virtual bool listed() const { return true; }            // false: tetherd's own, not a client
  };
  // Whoever owns a mux connection hears its events. The registry holds the owner
  // alive while the connection exists, and the session's user data points at it;
  // every way out calls disown().
  struct conn_owner {
    virtual ~conn_owner() = default;
    virtual void on_conn_event(const usbmux::event& e) = 0;
    virtual connection_status status() const = 0;
  };

  std::vector<proto::usbmuxd::device> devices() const;
  usbmux::phone_link* find(std::uint32_t device_id) const;
  // The DeviceID of the attached phone with this UDID, or 0.
  std::uint32_t find_udid(const std::string& udid) const;
  std::string udid_of(std::uint32_t device_id) const;
  std::vector<phone_status> phones() const;
  // Phones attached that answer nothing (locked), by UDID: not served, not listed.
  std::vector<std::string> silent_phones() const;
  std::vector<connection_status> connections() const;
  std::uint32_t id_of(const usbmux::phone_link& link) const;

  void add_watcher(watcher* w) { watchers_.push_back(w); }
  std::vector<proto::usbmuxd::listener> listeners() const;
  void remove_watcher(watcher* w);
  // A pair record for this phone was saved: listeners hear Paired.
  void paired(std::uint32_t device_id);
  // Told the number of phones after every attach and detach.
  void on_count_change(std::function<void(std::size_t)> hook) { count_hook_ = std::move(hook); }

  void own(std::uint32_t device_id, usbmux::conn_id id, std::shared_ptr<conn_owner> o);
  void disown(std::uint32_t device_id, usbmux::conn_id id);

  // From the transport.
  void on_ready(usbmux::phone_link& link) override;
  void on_event(usbmux::phone_link& link, const usbmux::event& e) override;
  void on_gone(usbmux::phone_link& link, std::error_code why, const std::string& detail) override;
  // The transport recovered from something by itself: one line in the log.
  void note(const usbmux::phone_link& link, const std::string& what);
  // A phone left the bus between two tries of its handshake: it is silent no more.
  void left_while_silent(std::uint8_t bus, std::uint8_t address);

 private:
  struct entry {
    usbmux::phone_link* link;
    proto::usbmuxd::device info;
    std::map<usbmux::conn_id, std::shared_ptr<conn_owner>> owners;
    std::chrono::steady_clock::time_point since;
  };
  std::map<std::uint32_t, entry> devices_;
  std::map<const usbmux::phone_link*, std::uint32_t> ids_;  // for on_gone and status
  std::uint32_t next_id_ = 1;
  void retire(std::shared_ptr<conn_owner> o);
  int dispatching_ = 0;                               // on_conn_event calls under way
  std::vector<std::shared_ptr<conn_owner>> retired_;  // let go of during one
  std::vector<watcher*> watchers_;
  std::function<void(std::size_t)> count_hook_;
  // Phones attached that answer nothing (locked): since when, by UDID. Said once, and
  // once more when they answer; their retries are logged at debug only.
  struct silence {
    std::chrono::steady_clock::time_point since;
    std::uint8_t bus, address;
  };
  std::map<std::string, silence> silent_;
  void on_phone_message(const usbmux::phone_link& link, const usbmux::events::control_message& m);
};

}  // namespace tether::daemon
