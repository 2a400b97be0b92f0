#pragma once
// One virtual iPhone plugged into a umockdev testbed: virtual_phone behind the
// usbdevfs adapter, plus what only a phone has: apps with sockets of their own that
// need a way back in, and mux-level faults.
#include <chrono>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>

#include "phone/phone_controls.hpp"
#include "phone/virtual_phone.hpp"
#include "tools/sim/usbdevfs_device.hpp"

namespace tether::sim {

class usbdevfs_phone final : public phone_controls, private app_host {
 public:
  usbdevfs_phone(UMockdevTestbed* testbed, virtual_phone phone, usb_bus& bus)
      : phone_(std::move(phone)), device_(testbed, phone_, bus) {
    phone_.set_app_host(this);
  }

  usbdevfs_device& device() { return device_; }
  bool plug(std::string& error) override { return device_.plug(error); }
  void unplug() override { device_.unplug(); }
  bool plugged() const override { return device_.plugged(); }
  std::string udid() const override { return udid_from_serial(phone_.identity().serial); }
  const iphone_identity& identity() const { return phone_.identity(); }

  void stall(bool in) override { device_.stall(in ? usbmux_in_endpoint : usbmux_out_endpoint); }
  void set_delay(std::chrono::milliseconds extra) override { device_.set_delay(extra); }
  void drop() override { device_.drop_link(); }

  void inject_garbage() override {
    device_.with_function([this](usb_function&) { phone_.inject_garbage(); });
  }
  // Data on a connection the host does not have (see virtual_phone::inject_stale_packet).
  void inject_stale_packet(std::uint16_t port, std::uint16_t host_port) override {
    device_.with_function(
        [this, port, host_port](usb_function&) { phone_.inject_stale_packet(port, host_port); });
  }
  // Every app resets its connections (RST), as when they are killed.
  void reset_connections() override {
    device_.with_function([this](usb_function&) { phone_.reset_connections(); });
  }
  std::string stats() override {
    std::string out;
    device_.with_function([this, &out](usb_function&) { out = phone_.stats_text(); });
    return out;
  }
  void set_version_muted(bool muted) override {
    device_.with_function([this, muted](usb_function&) { phone_.set_version_muted(muted); });
  }

  // The app's lifecycle (virtual_phone::set_app_state). Run on umockdev's worker: an
  // app resumed there accepts its backlog, and a relay app watches its new sockets on
  // the thread it accepts on (this thread runs no GLib loop).
  bool set_app_state(std::uint16_t port, app_state s, std::string& error) override {
    auto ok = std::make_shared<std::promise<bool>>();
    auto run = [this, port, s, ok] {
      bool found = false;
      device_.with_function([&](usb_function&) { found = phone_.set_app_state(port, s); });
      ok->set_value(found);
    };
    GMainContext* worker = device_.worker_context();
    if (worker == nullptr) {
      run();  // no host has opened the phone yet: no connections, no sockets
    } else {
      // The call waits in a queue of ours, under our mutex: GLib hands the source over
      // with futexes ThreadSanitizer does not see, so memory made here and read there
      // would be reported as a race. The source carries only `this`.
      {
        std::lock_guard lock(calls_mu_);
        calls_.push_back(std::move(run));
      }
      g_main_context_invoke(worker, &usbdevfs_phone::run_calls, this);
    }
    auto answer = ok->get_future();
    if (answer.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
      error = "the phone's thread did not answer within 5 s";
      return false;
    }
    if (!answer.get()) {
      error = "no app listens on port " + std::to_string(port) + " of phone " + udid();
      return false;
    }
    return true;
  }
  // What real phones do (issue 15): see phone_controls.
  void set_lock(lock_mode m) override {
    device_.with_function([this, m](usb_function&) {
      phone_.set_lock(m == lock_mode::unlocked ? m : lock_mode::locked);
    });
    std::string error;
    if (m == lock_mode::hidden) {
      hidden_ = true;
      device_.unplug();
    } else if (m == lock_mode::unlocked && hidden_) {
      hidden_ = false;
      (void)device_.plug(error);  // as it came: a plug that fails shows as no phone
    }
  }
  void set_control_texts(bool on) override {
    device_.with_function([this, on](usb_function&) { phone_.set_control_texts(on); });
  }
  // A new address in the far half of the bus's range and back, so phones never
  // collide: the device node and the sysfs path change with it.
  bool reenumerate(std::string& error) override {
    device_.unplug();
    device_.with_function([this](usb_function&) {
      const std::uint8_t a = phone_.identity().address;
      phone_.set_bus_address(static_cast<std::uint8_t>(a >= 64 ? a - 62 : a + 62));
    });
    return device_.plug(error);
  }
  void with_trust(const std::function<void(phone_trust&)>& f) override {
    device_.with_function([this, &f](usb_function&) { f(phone_.trust()); });
  }
  void send_version() override {
    device_.with_function([this](usb_function&) { phone_.send_version(); });
  }
  void set_stale_order(stale_order o) override {
    device_.with_function([this, o](usb_function&) { phone_.set_stale_order(o); });
  }

 private:
  // On umockdev's worker: the calls queued for it (set_app_state).
  static gboolean run_calls(gpointer self) {
    auto* phone = static_cast<usbdevfs_phone*>(self);
    std::deque<std::function<void()>> calls;
    {
      std::lock_guard lock(phone->calls_mu_);
      calls.swap(phone->calls_);
    }
    for (auto& call : calls) call();
    return G_SOURCE_REMOVE;
  }

  void with_session(const std::function<void(usbmux::device_session*)>& f) override {
    device_.with_function([this, &f](usb_function&) {
      f(phone_.session());
      if (phone_.session() != nullptr) phone_.run_apps();
    });
  }

  virtual_phone phone_;  // declared first: the device is torn down before it
  usbdevfs_device device_;
  bool hidden_ = false;  // off the bus by USB Restricted Mode, back on unlock
  std::mutex calls_mu_;
  std::deque<std::function<void()>> calls_;  // for umockdev's worker (run_calls)
};

}  // namespace tether::sim
