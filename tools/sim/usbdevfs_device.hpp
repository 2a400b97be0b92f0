#pragma once
// One virtual USB device plugged into a umockdev testbed: usbdevfs ioctls from any
// program running under the umockdev preload arrive here (on umockdev's worker
// thread) and are answered the way the Linux kernel would, with a usb_function (the
// iPhone, the PTP camera) behind them. The device node is a FIFO kept full, so
// libusb's poll() blocks; a slot is freed (POLLOUT) whenever a URB is ready to reap.
#include <umockdev.h>

#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "phone/usb_function.hpp"
#include "tools/sim/usb_bus.hpp"

namespace tether::sim {

class usbdevfs_device {
 public:
  // `function` must outlive this.
  usbdevfs_device(UMockdevTestbed* testbed, usb_function& function, usb_bus& bus);
  ~usbdevfs_device();
  usbdevfs_device(const usbdevfs_device&) = delete;
  usbdevfs_device& operator=(const usbdevfs_device&) = delete;

  // Adds the device to the testbed (an "add" uevent follows) / removes it the way a
  // cable pull does: in-flight URBs complete with ESHUTDOWN, new ones fail ENODEV.
  bool plug(std::string& error);
  void unplug();
  bool plugged() const;

  // Runs `f` on the function under the device's lock (outside any USB request: a
  // control command, an app's socket), then puts whatever became due onto the bus.
  void with_function(const std::function<void(usb_function&)>& f);

  // umockdev's worker context, where the ioctls run and the apps' sockets are watched;
  // nullptr before the first ioctl.
  GMainContext* worker_context() const {
    std::lock_guard lock(mu_);
    return bus_timer_source_ != nullptr ? g_source_get_context(bus_timer_source_) : nullptr;
  }

  // Faults on command.
  void stall(std::uint8_t endpoint);                // halted until CLEAR_HALT
  void set_delay(std::chrono::microseconds extra);  // on every bulk completion
  void drop_link();                                 // in-flight fail EPROTO, then gone

 private:
  static gboolean on_ioctl(UMockdevIoctlBase*, UMockdevIoctlClient* client, gpointer self);
  bool handle(UMockdevIoctlClient* client);
  void submit(UMockdevIoctlClient* client, UMockdevIoctlData* arg);
  void reap(UMockdevIoctlClient* client, UMockdevIoctlData* arg);
  void discard(UMockdevIoctlClient* client, UMockdevIoctlData* arg);
  void set_configuration(std::uint8_t value);
  void control_urb(UMockdevIoctlData* urb);
  // Moves the function's output into waiting IN URBs; call after anything that can make some.
  void fill_in_urbs();
  // Completes now, or when the bus has carried it (bulk transfers on a rated bus).
  void complete(UMockdevIoctlData* urb, int status, int actual_length);
  void complete_on_bus(UMockdevIoctlData* urb, int actual_length, bool in);
  void finish(UMockdevIoctlData* urb, int status, int actual_length);
  void make_bus_timer();
  void arm_bus_timer();
  static gboolean on_bus_timer(gint fd, GIOCondition, gpointer hook);
  void bus_timer_fired();
  void signal_reapable();
  bool make_fifo_node(std::string& error);

  UMockdevTestbed* testbed_;
  std::string root_dir_;                     // the testbed's
  std::string node_path_;                    // in the testbed's root
  std::vector<std::string> attached_nodes_;  // the handler serves these device nodes
  UMockdevIoctlBase* handler_ = nullptr;

  mutable std::mutex mu_;  // ioctls run on umockdev's thread, plug/unplug on ours
  usb_function& fn_;
  bool plugged_ = false;
  // URBs belong to the open file that submitted them, as in the kernel: a REAP only
  // ever returns its own client's URBs. (Handing one client another's URB makes
  // umockdev write into freed memory of the second process.)
  std::deque<UMockdevIoctlData*> in_waiting_;  // IN URBs without data yet, all clients
  std::map<UMockdevIoctlData*, UMockdevIoctlClient*> owner_;
  std::map<UMockdevIoctlClient*, std::deque<UMockdevIoctlData*>>
      completed_;  // reapable, oldest first
  std::size_t completed_count_ = 0;
  std::map<UMockdevIoctlClient*, bool> stale_;    // opened on an earlier plug: ENODEV from now on
  void forget(UMockdevIoctlData* urb);            // drop a URB nobody will reap
  void drop_client(UMockdevIoctlClient* client);  // its file is closed: its URBs go
  void prune_closed_clients(UMockdevIoctlClient* current);
  bool claim(unsigned int number, UMockdevIoctlClient* client);
  void release(unsigned int number, UMockdevIoctlClient* client);
  void release_all_claims();
  std::map<unsigned int, UMockdevIoctlClient*> claims_;  // interface -> the file holding it
  bool gone(UMockdevIoctlClient* client) const;          // unplugged, or opened before a replug
  std::map<UMockdevIoctlData*, std::vector<std::byte>> staged_in_;  // IN data until reaped
  usb_bus& bus_;
  struct on_bus {
    UMockdevIoctlData* urb;
    int actual_length;
  };
  std::multimap<usb_bus::clock::time_point, on_bus> on_bus_;  // travelling on the bus
  std::chrono::microseconds extra_delay_{0};
  std::uint8_t halted_[2] = {0, 0};  // endpoints currently stalled
  bool is_halted(std::uint8_t ep) const { return halted_[0] == ep || halted_[1] == ep; }
  int bus_timer_fd_ = -1;  // a timerfd on umockdev's worker context: microsecond precision
  struct timer_hook;       // owned by the timer's GSource; outlives us safely
  timer_hook* bus_timer_hook_ = nullptr;
  GSource* bus_timer_source_ = nullptr;
  int fifo_fd_ = -1;
  bool fifo_slot_open_ = false;
};

}  // namespace tether::sim
