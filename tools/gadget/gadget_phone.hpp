#pragma once
// The virtual iPhone as a real USB gadget: the configfs tree (configfs_plan), the seven
// FunctionFS instances (ffs_function), the usbmux function behind two of them
// (mux_function), and the UDC binding, which is the cable. Implements the control
// socket's commands: plug/unplug bind and unbind the UDC.
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "phone/phone_controls.hpp"
#include "tools/gadget/configfs_plan.hpp"
#include "tools/gadget/ffs_function.hpp"
#include "tools/gadget/mux_function.hpp"

namespace tether::gadget {

struct gadget_options {
  std::string name = "tether_iphone";  // usb_gadget/NAME, and the instances' prefix
  std::string udc;                     // empty: the first of /sys/class/udc
  std::filesystem::path configfs_root = "/sys/kernel/config/usb_gadget";
  std::filesystem::path udc_class = "/sys/class/udc";
  std::filesystem::path run_dir = "/run/tether-gadget";  // the instances are mounted here
};

class gadget_phone final : public sim::phone_controls {
 public:
  // `phone` carries its apps already (sim::add_apps).
  gadget_phone(gadget_options o, sim::virtual_phone phone);
  ~gadget_phone() override;
  gadget_phone(const gadget_phone&) = delete;
  gadget_phone& operator=(const gadget_phone&) = delete;

  // Makes the gadget and binds it: the host sees the phone plugged in. On failure,
  // `error` says what happened and what to do, and nothing is left behind.
  bool start(std::string& error);
  // Unbinds, stops the I/O threads, unmounts and removes the configfs tree.
  void stop();

  // For the main loop: the ep0 files to watch, what to do when one is readable, and a
  // tick every few tens of milliseconds.
  std::vector<int> ep0_fds() const;
  void on_ep0();
  void tick() { mux_->kick_stale(); }

  std::string udid() const override;
  bool plugged() const override { return plugged_; }
  bool plug(std::string& error) override;
  void unplug() override;
  void stall(bool in) override { mux_->stall(in); }
  void set_delay(std::chrono::milliseconds extra) override { mux_->set_delay(extra); }
  void drop() override { unplug(); }  // a gadget's link fails only as a whole
  void inject_garbage() override;
  void reset_connections() override;
  void inject_stale_packet(std::uint16_t port, std::uint16_t host_port) override;
  void set_version_muted(bool muted) override;
  std::string stats() override;
  bool set_app_state(std::uint16_t port, sim::app_state s, std::string& error) override;
  void set_lock(sim::lock_mode m) override;
  void set_control_texts(bool on) override;
  void set_stale_order(sim::stale_order o) override;
  void send_version() override;
  void with_trust(const std::function<void(sim::phone_trust&)>& f) override {
    mux_->with_phone([&f](sim::virtual_phone& p) { f(p.trust()); });
  }
  // Unbind and bind: the host's kernel gives the phone its next address itself.
  bool reenumerate(std::string& error) override {
    unplug();
    return plug(error);
  }

 private:
  void drain_events_locked();
  void handle_event(ffs_function& f, const usb_functionfs_event& e);
  bool pick_udc(std::string& error);
  void remove_leftovers();

  gadget_options o_;
  std::vector<function_slot> slots_;
  std::vector<configfs_step> plan_;
  std::vector<std::unique_ptr<ffs_function>> functions_;
  std::unique_ptr<mux_function> mux_;
  bool made_ = false;
  bool plugged_ = false;
  std::uint8_t configuration_ = 0;  // the host's choice, for the log
  bool hidden_ = false;             // unbound by USB Restricted Mode, bound again on unlock
};

}  // namespace tether::gadget
