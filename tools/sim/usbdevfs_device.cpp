// usbdevfs_device, part one: the device node, plug and unplug, claims, and the ioctl
// dispatch. The URB lifecycle is in usbdevfs_urbs.cpp.
#include "tools/sim/usbdevfs_device.hpp"

#include "tools/sim/usbdevfs_urb.hpp"

#include <fcntl.h>
#include <glib-unix.h>
#include <linux/ioctl.h>
#include <linux/usbdevice_fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace tether::sim {
using detail::fifo_chunk;
using detail::trace;
using detail::urb_of;

namespace {

// What we tell libusb we can do: what the kernel reports for an xHCI controller.
// With scatter-gather, libusb submits every transfer as one URB, as on real hardware.
constexpr std::uint32_t capabilities =
    USBDEVFS_CAP_ZERO_PACKET | USBDEVFS_CAP_BULK_CONTINUATION | USBDEVFS_CAP_NO_PACKET_SIZE_LIM |
    USBDEVFS_CAP_BULK_SCATTER_GATHER | USBDEVFS_CAP_REAP_AFTER_DISCONNECT;

}  // namespace

usbdevfs_device::usbdevfs_device(UMockdevTestbed* testbed, usb_function& function, usb_bus& bus)
    : testbed_(testbed), fn_(function), bus_(bus) {
  gchar* root = umockdev_testbed_get_root_dir(testbed_);
  root_dir_ = root;
  node_path_ = root_dir_ + fn_.dev_node();
  g_free(root);
}

void usbdevfs_device::with_function(const std::function<void(usb_function&)>& f) {
  std::lock_guard lock(mu_);
  f(fn_);
  fill_in_urbs();
}

usbdevfs_device::~usbdevfs_device() {
  if (plugged()) unplug();
  if (handler_ != nullptr) {
    for (const auto& node : attached_nodes_)
      umockdev_testbed_detach_ioctl(testbed_, node.c_str(), nullptr);
    g_object_unref(handler_);
  }
  // The timer takes its hook's lock, then ours: detach it before taking ours.
  if (bus_timer_source_ != nullptr) {
    {
      std::lock_guard hook_lock(bus_timer_hook_->mu);
      bus_timer_hook_->device = nullptr;
    }
    g_source_destroy(bus_timer_source_);
    g_source_unref(bus_timer_source_);
  }
  std::lock_guard lock(mu_);
  release_all_claims();
  while (!completed_.empty()) drop_client(completed_.begin()->first);
  for (auto& [c, _] : stale_) g_object_unref(c);
  if (fifo_fd_ >= 0) ::close(fifo_fd_);
  if (bus_timer_fd_ >= 0) ::close(bus_timer_fd_);
}

bool usbdevfs_device::plugged() const {
  std::lock_guard lock(mu_);
  return plugged_;
}

bool usbdevfs_device::plug(std::string& error) {
  std::lock_guard lock(mu_);
  if (plugged_) return true;
  // A new device instance: files opened on the old one may still reap what the cable
  // pull killed (their own URBs only), and get ENODEV for everything else.
  for (auto& [old, urbs] : completed_)
    if (stale_.try_emplace(old, true).second) g_object_ref(old);
  fn_.set_configuration(fn_.initial_configuration());
  halted_[0] = halted_[1] = 0;              // a new device instance: no endpoint is halted
  node_path_ = root_dir_ + fn_.dev_node();  // a re-enumerated device has a new address
  // umockdev makes USB nodes plain files, which poll() always reports ready; libusb
  // would spin. A FIFO that we keep full blocks it until we free a slot. It must be
  // in place before the device is announced, or a fast host opens the plain file.
  if (!make_fifo_node(error)) return false;
  GError* err = nullptr;
  std::string description = fn_.sysfs_description();
  if (!umockdev_testbed_add_from_string(testbed_, description.c_str(), &err)) {
    error = std::string("cannot add the device to the testbed: ") + (err ? err->message : "?");
    g_clear_error(&err);
    return false;
  }
  if (handler_ == nullptr) {
    handler_ = umockdev_ioctl_base_new();
    g_signal_connect(handler_, "handle-ioctl", G_CALLBACK(&usbdevfs_device::on_ioctl), this);
  }
  // A re-enumerated device has a new node; files open on the old one keep theirs (and
  // get ENODEV), so the handler stays attached there too.
  if (std::find(attached_nodes_.begin(), attached_nodes_.end(), fn_.dev_node()) ==
      attached_nodes_.end()) {
    if (!umockdev_testbed_attach_ioctl(testbed_, fn_.dev_node().c_str(), handler_, &err)) {
      error = std::string("cannot attach the ioctl handler: ") + (err ? err->message : "?");
      g_clear_error(&err);
      return false;
    }
    attached_nodes_.push_back(fn_.dev_node());
  }
  plugged_ = true;
  return true;
}

bool usbdevfs_device::make_fifo_node(std::string& error) {
  const std::string dir = node_path_.substr(0, node_path_.rfind('/'));
  g_mkdir_with_parents(dir.c_str(), 0755);
  ::unlink(node_path_.c_str());
  if (fifo_fd_ >= 0) ::close(fifo_fd_);
  fifo_fd_ = -1;
  if (::mkfifo(node_path_.c_str(), 0666) != 0 ||
      (fifo_fd_ = ::open(node_path_.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC)) < 0) {
    error = "cannot make the device node " + node_path_ + ": " + std::strerror(errno);
    return false;
  }
  char fill[fifo_chunk] = {};
  while (::write(fifo_fd_, fill, sizeof fill) > 0) {
  }
  fifo_slot_open_ = false;
  return true;
}

void usbdevfs_device::unplug() {
  std::lock_guard lock(mu_);
  if (!plugged_) return;
  plugged_ = false;
  // The kernel kills in-flight URBs on disconnect; they stay reapable.
  while (!in_waiting_.empty()) {
    complete(in_waiting_.front(), -ESHUTDOWN, 0);
    in_waiting_.pop_front();
  }
  for (auto& [due, t] : on_bus_) finish(t.urb, -ESHUTDOWN, 0);
  on_bus_.clear();
  // Leave the old node permanently writable: hosts still holding it open must be
  // able to reap the killed URBs and then see ENODEV.
  if (fifo_fd_ >= 0) {
    char sink[fifo_chunk];
    while (::read(fifo_fd_, sink, sizeof sink) > 0) {
    }
    ::close(fifo_fd_);
    fifo_fd_ = -1;
  }
  release_all_claims();  // the interfaces went with the device
  const std::string syspath = fn_.sysfs_path();
  umockdev_testbed_uevent(testbed_, syspath.c_str(), "remove");
  umockdev_testbed_remove_device(testbed_, syspath.c_str());
  fn_.set_configuration(0);
}

void usbdevfs_device::stall(std::uint8_t endpoint) {
  std::lock_guard lock(mu_);
  (halted_[0] == 0 ? halted_[0] : halted_[1]) = endpoint;
  if (endpoint & 0x80) {  // waiting IN transfers see the stall at once
    for (auto* d : in_waiting_) complete(d, -EPIPE, 0);
    in_waiting_.clear();
  }
}

void usbdevfs_device::set_delay(std::chrono::microseconds extra) {
  std::lock_guard lock(mu_);
  extra_delay_ = extra;
}

void usbdevfs_device::drop_link() {
  {
    std::lock_guard lock(mu_);
    // A flaky cable: what is in flight fails with a protocol error first.
    for (auto* d : in_waiting_) complete(d, -EPROTO, 0);
    in_waiting_.clear();
    for (auto& [due, t] : on_bus_) finish(t.urb, -EPROTO, 0);
    on_bus_.clear();
  }
  unplug();
}

void usbdevfs_device::forget(UMockdevIoctlData* urbd) {
  owner_.erase(urbd);
  staged_in_.erase(urbd);
  g_object_unref(urbd);
}

void usbdevfs_device::drop_client(UMockdevIoctlClient* client) {
  auto owned = [&](UMockdevIoctlData* d) {
    auto o = owner_.find(d);
    return o != owner_.end() && o->second == client;
  };
  for (auto it = in_waiting_.begin(); it != in_waiting_.end();) {
    if (owned(*it)) {
      forget(*it);
      it = in_waiting_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto it = on_bus_.begin(); it != on_bus_.end();) {
    if (owned(it->second.urb)) {
      forget(it->second.urb);
      it = on_bus_.erase(it);
    } else {
      ++it;
    }
  }
  if (auto q = completed_.find(client); q != completed_.end()) {
    for (auto* d : q->second) forget(d);
    completed_count_ -= q->second.size();
    completed_.erase(q);
    g_object_unref(client);
  }
}

bool usbdevfs_device::gone(UMockdevIoctlClient* client) const {
  return !plugged_ || stale_.count(client) != 0;
}

bool usbdevfs_device::claim(unsigned int number, UMockdevIoctlClient* client) {
  // One open file per interface, as the kernel enforces: a second program (another
  // gphoto2, a desktop's photo import) gets EBUSY until the first lets go or exits.
  auto it = claims_.find(number);
  if (it != claims_.end()) return it->second == client;
  g_object_ref(client);
  claims_[number] = client;
  return true;
}

void usbdevfs_device::release(unsigned int number, UMockdevIoctlClient* client) {
  auto it = claims_.find(number);
  if (it == claims_.end() || it->second != client) return;
  g_object_unref(it->second);
  claims_.erase(it);
}

void usbdevfs_device::release_all_claims() {
  for (auto& [n, c] : claims_) g_object_unref(c);
  claims_.clear();
}

void usbdevfs_device::prune_closed_clients(UMockdevIoctlClient* current) {
  for (auto it = claims_.begin(); it != claims_.end();) {
    if (it->second != current && !umockdev_ioctl_client_get_connected(it->second)) {
      g_object_unref(it->second);
      it = claims_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto it = stale_.begin(); it != stale_.end();) {
    if (it->first != current && !umockdev_ioctl_client_get_connected(it->first)) {
      g_object_unref(it->first);
      it = stale_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto it = completed_.begin(); it != completed_.end();) {
    UMockdevIoctlClient* c = it->first;
    ++it;
    if (c != current && !umockdev_ioctl_client_get_connected(c)) {
      if (trace)
        std::fprintf(stderr, "tether-sim: trace: client %p closed its file: dropping its URBs\n",
                     static_cast<void*>(c));
      drop_client(c);
    }
  }
}

gboolean usbdevfs_device::on_ioctl(UMockdevIoctlBase*, UMockdevIoctlClient* client, gpointer self) {
  auto* device = static_cast<usbdevfs_device*>(self);
  std::lock_guard lock(device->mu_);
  device->make_bus_timer();
  device->prune_closed_clients(client);
  if (!device->handle(client)) umockdev_ioctl_client_complete(client, -1, ENOTTY);
  return TRUE;
}

bool usbdevfs_device::handle(UMockdevIoctlClient* client) {
  const unsigned long request = umockdev_ioctl_client_get_request(client);

  UMockdevIoctlData* arg = umockdev_ioctl_client_get_arg(client);
  auto done = [client](long result = 0, int err = 0) {
    umockdev_ioctl_client_complete(client, result, err);
    return true;
  };
  // A pulled cable (or a file opened before the last replug): only reaping what
  // already completed still works.
  if (gone(client) && request != USBDEVFS_REAPURB && request != USBDEVFS_REAPURBNDELAY &&
      request != USBDEVFS_DISCARDURB)
    return done(-1, ENODEV);

  switch (request) {
    // The kernel answers these in the VFS for any file and never passes them to the
    // usbfs driver; Asio, for one, sets FIONBIO on every descriptor it waits on.
    case FIONBIO:
    case FIOASYNC:
    case FIOCLEX:
    case FIONCLEX: return done();
    case USBDEVFS_GET_CAPABILITIES: {
      UMockdevIoctlData* d = umockdev_ioctl_data_resolve(arg, 0, sizeof(std::uint32_t), nullptr);
      std::memcpy(d->data, &capabilities, sizeof capabilities);
      return done();
    }
    case USBDEVFS_SETCONFIGURATION: {
      UMockdevIoctlData* d = umockdev_ioctl_data_resolve(arg, 0, sizeof(unsigned int), nullptr);
      unsigned int value = 0;
      std::memcpy(&value, d->data, sizeof value);
      if (value > fn_.configuration_count()) return done(-1, EINVAL);
      set_configuration(static_cast<std::uint8_t>(value));
      return done();
    }
    case USBDEVFS_CLAIMINTERFACE:
    case USBDEVFS_RELEASEINTERFACE: {
      UMockdevIoctlData* d = umockdev_ioctl_data_resolve(arg, 0, sizeof(unsigned int), nullptr);
      unsigned int number = 0;
      std::memcpy(&number, d->data, sizeof number);
      if (number >= fn_.interface_count()) return done(-1, EINVAL);
      if (request == USBDEVFS_RELEASEINTERFACE) {
        release(number, client);
        return done();
      }
      return claim(number, client) ? done() : done(-1, EBUSY);
    }
    case USBDEVFS_GETDRIVER: return done(-1, ENODATA);  // no kernel driver bound
    case USBDEVFS_IOCTL: {  // DISCONNECT/CONNECT a kernel driver: there is none
      UMockdevIoctlData* d = umockdev_ioctl_data_resolve(arg, 0, sizeof(usbdevfs_ioctl), nullptr);
      usbdevfs_ioctl io{};
      std::memcpy(&io, d->data, sizeof io);
      return io.ioctl_code == static_cast<int>(USBDEVFS_DISCONNECT) ? done(-1, ENODATA) : done();
    }
    case USBDEVFS_DISCONNECT_CLAIM: {
      UMockdevIoctlData* d =
          umockdev_ioctl_data_resolve(arg, 0, sizeof(usbdevfs_disconnect_claim), nullptr);
      usbdevfs_disconnect_claim dc{};
      std::memcpy(&dc, d->data, sizeof dc);
      if (dc.interface >= fn_.interface_count()) return done(-1, EINVAL);
      return claim(dc.interface, client) ? done() : done(-1, EBUSY);
    }
    case USBDEVFS_CLEAR_HALT: {
      UMockdevIoctlData* d = umockdev_ioctl_data_resolve(arg, 0, sizeof(unsigned int), nullptr);
      unsigned int ep = 0;
      std::memcpy(&ep, d->data, sizeof ep);
      for (auto& h : halted_)
        if (h == ep) h = 0;
      fill_in_urbs();
      return done();
    }
    case USBDEVFS_RESETEP: return done();
    case USBDEVFS_RESET:
      fn_.reset();
      set_configuration(fn_.configuration());
      return done();
    case USBDEVFS_SUBMITURB: submit(client, arg); return true;
    case USBDEVFS_REAPURB:
    case USBDEVFS_REAPURBNDELAY: reap(client, arg); return true;
    case USBDEVFS_DISCARDURB: discard(client, arg); return true;
    default: return false;
  }
}

void usbdevfs_device::set_configuration(std::uint8_t value) {
  fn_.set_configuration(value);
  // libusb reads the active configuration from sysfs, as it would from the kernel.
  const std::string syspath = fn_.sysfs_path();
  const std::string text = std::to_string(value) + "\n";
  umockdev_testbed_set_attribute(testbed_, syspath.c_str(), "bConfigurationValue", text.c_str());
  for (auto* d : in_waiting_) complete(d, -ESHUTDOWN, 0);  // the endpoints went away
  in_waiting_.clear();
}

}  // namespace tether::sim
