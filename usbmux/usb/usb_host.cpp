#include "usbmux/usb/usb_host.hpp"

#include "usbmux/usb/usb_error.hpp"

namespace tether::usb {

usb_host::usb_host(event_loop& loop, link_options opts, listener& l)
    : loop_(loop), opts_(std::move(opts)), outer_(l) {}

usb_host::~usb_host() {
  if (hotplug_registered_) libusb_hotplug_deregister_callback(loop_.context(), hotplug_handle_);
  for (auto& [dev, r] : retries_) libusb_unref_device(dev);
}

std::error_code usb_host::start() {
  if (!libusb_has_capability(LIBUSB_CAP_HAS_HOTPLUG))
    return libusb_error(LIBUSB_ERROR_NOT_SUPPORTED);
  const int r = libusb_hotplug_register_callback(
      loop_.context(),
      static_cast<libusb_hotplug_event>(LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED |
                                        LIBUSB_HOTPLUG_EVENT_DEVICE_LEFT),
      LIBUSB_HOTPLUG_ENUMERATE, apple_vendor_id, LIBUSB_HOTPLUG_MATCH_ANY, LIBUSB_HOTPLUG_MATCH_ANY,
      &usb_host::hotplug, this, &hotplug_handle_);
  if (r != 0) return libusb_error(r);
  hotplug_registered_ = true;
  return {};
}

// Runs inside libusb: only record and post (no synchronous libusb calls allowed here).
int LIBUSB_CALL usb_host::hotplug(libusb_context*, libusb_device* dev, libusb_hotplug_event ev,
                                  void* self) {
  auto* host = static_cast<usb_host*>(self);
  libusb_ref_device(dev);
  asio::post(host->loop_.io(), [alive = std::weak_ptr<int>(host->alive_), host, dev, ev] {
    if (!alive.expired()) {
      if (ev == LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED)
        host->attach(dev);
      else
        host->detach(dev);
    }
    libusb_unref_device(dev);
  });
  return 0;
}

void usb_host::attach(libusb_device* dev) {
  if (links_.count(dev) != 0 || stopping_) return;
  libusb_device_descriptor dd{};
  libusb_get_device_descriptor(dev, &dd);
  if (!is_usbmux_product(dd.idVendor, dd.idProduct)) return;  // Macs, keyboards, recovery mode
  auto link =
      std::make_unique<device_link>(loop_, dev, opts_, static_cast<device_link::listener&>(*this));
  if (auto opened = link->open(); !opened) {
    outer_.on_attach_failed(libusb_get_bus_number(dev), libusb_get_device_address(dev),
                            opened.detail(), opened.error());
    // Even "no device" is tried again: a phone whose kernel driver changes under us (the
    // first Apple device after boot loads apple-mfi-fastcharge, which takes the device
    // over and resets its configuration) fails this way yet stays, with no new arrival
    // to come (seen on the virtual board). A phone really gone sends its departure,
    // which ends the retries.
    schedule_retry(dev);
    return;
  }
  links_.emplace(dev, std::move(link));
}

void usb_host::on_ready(device_link& link) {
  if (auto r = retries_.find(link.device()); r != retries_.end()) {  // it works again
    libusb_unref_device(r->first);
    retries_.erase(r);
  }
  outer_.on_ready(link);
}

void usb_host::detach(libusb_device* dev) {
  auto it = links_.find(dev);
  if (auto r = retries_.find(dev); r != retries_.end()) {  // gone for good: stop retrying
    libusb_unref_device(dev);
    retries_.erase(r);
    if (it == links_.end())
      outer_.on_left_while_waiting(libusb_get_bus_number(dev), libusb_get_device_address(dev));
  }
  if (it != links_.end()) {
    departed_.insert(dev);  // on_gone (posted) must not try it again
    it->second->shut_down(usbmux::link_errc::unplugged);
  }
}

void usb_host::on_gone(device_link& link, std::error_code why, const std::string& detail) {
  libusb_device* dev = link.device();
  // Only libusb's departure ends a phone for good. A link that ends on its own, even with
  // "no device" (LIBUSB_TRANSFER_NO_DEVICE: link_errc::unplugged), is tried again: the first Apple
  // device after boot loads apple-mfi-fastcharge, which takes the device over and resets
  // its configuration under a working link, and no new arrival follows (seen on the
  // virtual board). A real unplug's departure follows within milliseconds and ends the
  // retry (detach) before its first attempt.
  const bool departed = departed_.erase(dev) != 0;
  const bool again = !stopping_ && !departed;
  if (again) libusb_ref_device(dev);  // keep it across the link's destruction
  outer_.on_gone(link, why, detail);
  links_.erase(dev);
  if (again) {
    schedule_retry(dev, why == usbmux::link_errc::handshake_failed);
    libusb_unref_device(dev);
  }
}

// A phone that failed without leaving (protocol error, silent handshake, USB error)
// is opened again later; the delay doubles each time, and a working link resets it.
void usb_host::schedule_retry(libusb_device* dev, bool silent) {
  auto [it, fresh] = retries_.try_emplace(dev);
  if (fresh) {
    libusb_ref_device(dev);
    it->second.delay = opts_.retry_first;
    it->second.timer = std::make_unique<base::quiet_timer>(loop_.io());
  } else {
    it->second.delay = std::min(it->second.delay * 2, opts_.retry_max);
  }
  if (silent) it->second.delay = std::min(it->second.delay, opts_.retry_silent_max);
  it->second.timer->expires_after(it->second.delay);
  it->second.timer->async_wait(
      [this, dev, alive = std::weak_ptr<int>(alive_)](const std::error_code& ec) {
        if (ec || alive.expired() || retries_.count(dev) == 0) return;
        attach(dev);
      });
}

void usb_host::rescan() {
  if (stopping_) return;
  libusb_device** list = nullptr;
  const auto n = libusb_get_device_list(loop_.context(), &list);
  for (ssize_t i = 0; i < n; ++i) attach(list[i]);
  if (n >= 0) libusb_free_device_list(list, 1);
}

void usb_host::shut_down_all(const std::string& detail) {
  stopping_ = true;
  for (auto& [dev, r] : retries_) {
    r.timer->cancel();
    libusb_unref_device(dev);
  }
  retries_.clear();
  for (auto& [dev, link] : links_) link->shut_down(usbmux::link_errc::shut_down, detail);
}

}  // namespace tether::usb
