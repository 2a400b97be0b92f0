#pragma once
// Every phone on the bus: libusb hotplug (phones already present are reported too)
// creates a device_link per Apple device that carries usbmux, and removes it when the
// phone leaves. A phone that re-enumerates (reboot, "Trust" tapped, mode switch) is a
// departure followed by an arrival and comes back by itself.
#include <map>
#include <memory>
#include <set>
#include <string>

#include "base/quiet_timer.hpp"
#include "usbmux/usb/device_link.hpp"

namespace tether::usb {

class usb_host : private device_link::listener {
 public:
  struct listener : device_link::listener {
    // An Apple device arrived but could not be used; `what` says which step failed.
    virtual void on_attach_failed(std::uint8_t bus, std::uint8_t address, const std::string& what,
                                  std::error_code ec) = 0;
    // A phone that had failed (and waited for its retry, with no link open) left the
    // bus: whatever was said about it is over.
    virtual void on_left_while_waiting(std::uint8_t /*bus*/, std::uint8_t /*address*/) {}
  };

  usb_host(event_loop& loop, link_options opts, listener& l);
  ~usb_host();
  usb_host(const usb_host&) = delete;
  usb_host& operator=(const usb_host&) = delete;

  std::error_code start();
  std::size_t link_count() const { return links_.size(); }
  // Tears every link down (link_errc::shut_down, with this detail); on_gone follows
  // for each.
  void shut_down_all(const std::string& detail);
  // Looks at the bus now (a second tetherd was started by udev, or hotplug missed a
  // phone): attaches usbmux phones it does not serve, including those waiting for a
  // retry.
  void rescan();

 private:
  static int LIBUSB_CALL hotplug(libusb_context*, libusb_device* dev, libusb_hotplug_event ev,
                                 void* self);
  void attach(libusb_device* dev);
  void detach(libusb_device* dev);
  // `silent`: the phone did not answer VERSION (retry_silent_max caps the delay).
  void schedule_retry(libusb_device* dev, bool silent = false);

  void on_ready(device_link& link) override;
  void on_event(device_link& link, const usbmux::event& e) override { outer_.on_event(link, e); }
  void on_gone(device_link& link, std::error_code why, const std::string& detail) override;
  void on_recovered(device_link& link, const std::string& what) override {
    outer_.on_recovered(link, what);
  }

  event_loop& loop_;
  link_options opts_;
  listener& outer_;
  libusb_hotplug_callback_handle hotplug_handle_ = 0;
  bool hotplug_registered_ = false;
  std::map<libusb_device*, std::unique_ptr<device_link>> links_;
  struct retry {
    std::unique_ptr<base::quiet_timer> timer;
    std::chrono::milliseconds delay;
  };
  std::map<libusb_device*, retry> retries_;  // devices that failed and will be reopened
  std::set<libusb_device*> departed_;        // left (libusb's departure) with their link closing
  bool stopping_ = false;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace tether::usb
