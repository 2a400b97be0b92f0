#include "tools/sim/usbdevfs_device.hpp"

#include "base/byte_order.hpp"

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
namespace {

constexpr std::size_t fifo_chunk = 4096;

// TETHER_SIM_TRACE=1: one line per URB on stderr, for debugging hosts.
const bool trace = std::getenv("TETHER_SIM_TRACE") != nullptr;

usbdevfs_urb* urb_of(UMockdevIoctlData* d) { return reinterpret_cast<usbdevfs_urb*>(d->data); }

// What we tell libusb we can do: what the kernel reports for an xHCI controller.
// With scatter-gather, libusb submits every transfer as one URB, as on real hardware.
constexpr std::uint32_t capabilities =
    USBDEVFS_CAP_ZERO_PACKET | USBDEVFS_CAP_BULK_CONTINUATION | USBDEVFS_CAP_NO_PACKET_SIZE_LIM |
    USBDEVFS_CAP_BULK_SCATTER_GATHER | USBDEVFS_CAP_REAP_AFTER_DISCONNECT;

}  // namespace

// The timer's callback data. The device clears `device` under `mu` before it dies,
// which also waits for a callback already running on umockdev's thread.
struct usbdevfs_device::timer_hook {
  std::mutex mu;
  usbdevfs_device* device;
};

usbdevfs_device::usbdevfs_device(UMockdevTestbed* testbed, usb_function& function, usb_bus& bus)
    : testbed_(testbed), fn_(function), bus_(bus) {
  gchar* root = umockdev_testbed_get_root_dir(testbed_);
  node_path_ = std::string(root) + fn_.dev_node();
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
    umockdev_testbed_detach_ioctl(testbed_, fn_.dev_node().c_str(), nullptr);
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
    if (!umockdev_testbed_attach_ioctl(testbed_, fn_.dev_node().c_str(), handler_, &err)) {
      error = std::string("cannot attach the ioctl handler: ") + (err ? err->message : "?");
      g_clear_error(&err);
      return false;
    }
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

void usbdevfs_device::submit(UMockdevIoctlClient* client, UMockdevIoctlData* arg) {
  UMockdevIoctlData* urbd = umockdev_ioctl_data_resolve(arg, 0, sizeof(usbdevfs_urb), nullptr);
  usbdevfs_urb* urb = urb_of(urbd);
  if (urb->buffer_length < 0 || urb->buffer_length > (1 << 24)) {
    umockdev_ioctl_client_complete(client, -1, EINVAL);
    return;
  }
  // Every byte resolved is copied over umockdev's socket, the emulation's main cost.
  // An IN buffer's old contents do not matter: it is resolved at reap time, for
  // the bytes actually delivered (see reap), and staged here until then.
  const bool data_in =
      (urb->type == USBDEVFS_URB_TYPE_BULK || urb->type == USBDEVFS_URB_TYPE_INTERRUPT) &&
      (urb->endpoint & 0x80);
  if (!data_in) {
    umockdev_ioctl_data_resolve(urbd, G_STRUCT_OFFSET(usbdevfs_urb, buffer),
                                static_cast<gsize>(urb->buffer_length), nullptr);
  }
  g_object_ref(urbd);  // written back to the client when reaped
  if (completed_.try_emplace(client).second) g_object_ref(client);  // its address stays its own
  owner_[urbd] = client;
  if (trace)
    std::fprintf(stderr, "tether-sim: trace: submit type=%u ep=0x%02x len=%d flags=0x%x\n",
                 static_cast<unsigned>(urb->type), urb->endpoint, urb->buffer_length, urb->flags);
  urb->actual_length = 0;
  urb->status = 0;

  if (urb->type == USBDEVFS_URB_TYPE_CONTROL) {
    control_urb(urbd);
  } else if (urb->type == USBDEVFS_URB_TYPE_BULK && is_halted(urb->endpoint)) {
    complete(urbd, -EPIPE, 0);  // a halted endpoint fails every transfer until cleared
  } else if (urb->type == USBDEVFS_URB_TYPE_BULK && !(urb->endpoint & 0x80)) {
    const auto data = std::span(static_cast<const std::byte*>(urb->buffer),
                                static_cast<std::size_t>(urb->buffer_length));
    // The host's ZLP request travels with the URB (libusb's ADD_ZERO_PACKET); the
    // function decides what a transfer without one means to its reads.
    if (fn_.bulk_out(urb->endpoint, data, (urb->flags & USBDEVFS_URB_ZERO_PACKET) != 0)) {
      complete_on_bus(urbd, urb->buffer_length);
    } else {
      complete(urbd, -EPIPE, 0);  // no such endpoint in this configuration: stall
    }
  } else if (data_in) {
    if (!fn_.in_endpoint(urb->endpoint)) {
      complete(urbd, -EPIPE, 0);
    } else {
      in_waiting_.push_back(urbd);
    }
  } else {
    g_object_unref(urbd);
    umockdev_ioctl_client_complete(client, -1, EINVAL);
    return;
  }
  fill_in_urbs();
  umockdev_ioctl_client_complete(client, 0, 0);
}

void usbdevfs_device::control_urb(UMockdevIoctlData* urbd) {
  usbdevfs_urb* urb = urb_of(urbd);
  if (urb->buffer_length < 8) {
    complete(urbd, -EINVAL, 0);
    return;
  }
  auto* buf = static_cast<std::uint8_t*>(urb->buffer);
  const setup_packet s{buf[0], buf[1], base::load_le16(buf + 2), base::load_le16(buf + 4),
                       base::load_le16(buf + 6)};
  const std::size_t room = static_cast<std::size_t>(urb->buffer_length) - 8;
  const auto reply =
      fn_.control(s, std::span<const std::uint8_t>(buf + 8, std::min<std::size_t>(room, s.length)));
  if (!reply) {
    complete(urbd, -EPIPE, 0);
    return;
  }
  if (s.request == 9 && s.request_type == 0) set_configuration(static_cast<std::uint8_t>(s.value));
  const std::size_t n = std::min(reply->size(), room);
  std::memcpy(buf + 8, reply->data(), n);
  complete(urbd, 0,
           static_cast<int>((s.request_type & 0x80) ? n : std::min<std::size_t>(room, s.length)));
}

void usbdevfs_device::fill_in_urbs() {
  // Oldest first on each endpoint; an endpoint with nothing due is skipped, so an
  // interrupt URB waiting for an event does not hold up bulk data.
  std::vector<std::uint8_t> dry;
  for (auto it = in_waiting_.begin(); it != in_waiting_.end() && fn_.in_data_due();) {
    UMockdevIoctlData* urbd = *it;
    usbdevfs_urb* urb = urb_of(urbd);
    if (std::find(dry.begin(), dry.end(), urb->endpoint) != dry.end()) {
      ++it;
      continue;
    }
    std::vector<std::byte>& staged = staged_in_[urbd];
    staged.resize(static_cast<std::size_t>(urb->buffer_length));
    const auto n = fn_.bulk_in(urb->endpoint, staged);
    if (!n) {
      staged_in_.erase(urbd);
      dry.push_back(urb->endpoint);
      ++it;
      continue;
    }
    staged.resize(*n);
    it = in_waiting_.erase(it);
    complete_on_bus(urbd, static_cast<int>(*n));
  }
  arm_bus_timer();  // for whatever the function will have later
}

void usbdevfs_device::complete(UMockdevIoctlData* urbd, int status, int actual_length) {
  finish(urbd, status, actual_length);
}

void usbdevfs_device::complete_on_bus(UMockdevIoctlData* urbd, int actual_length) {
  if (bus_.unlimited() && extra_delay_.count() == 0) return finish(urbd, 0, actual_length);
  const auto due =
      bus_.schedule(static_cast<std::size_t>(actual_length), usb_bus::clock::now()) + extra_delay_;
  on_bus_.emplace(due, on_bus{urbd, actual_length});
  arm_bus_timer();
}

void usbdevfs_device::make_bus_timer() {
  // Made inside the first ioctl, on umockdev's worker thread, whose context is the
  // thread default there: the timer then fires on the same thread as the ioctls, and
  // code on other threads only ever sets its time.
  if (bus_timer_fd_ < 0) {
    bus_timer_fd_ = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    bus_timer_hook_ = new timer_hook{{}, this};
    bus_timer_source_ = g_unix_fd_source_new(bus_timer_fd_, G_IO_IN);
    g_source_set_callback(bus_timer_source_, G_SOURCE_FUNC(&usbdevfs_device::on_bus_timer),
                          bus_timer_hook_,
                          [](gpointer hook) { delete static_cast<timer_hook*>(hook); });
    g_source_attach(bus_timer_source_, g_main_context_get_thread_default());
  }
}

void usbdevfs_device::arm_bus_timer() {
  // The earliest of: a transfer arriving over the bus, the function having data.
  std::optional<usb_bus::clock::time_point> due;
  if (!on_bus_.empty()) due = on_bus_.begin()->first;
  if (!in_waiting_.empty())
    if (const auto later = fn_.next_in_due(); later && (!due || *later < *due)) due = later;
  if (!due || bus_timer_fd_ < 0) return;
  itimerspec spec{};
  const auto ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(due->time_since_epoch()).count();
  spec.it_value.tv_sec = ns / 1'000'000'000;
  spec.it_value.tv_nsec = ns % 1'000'000'000;
  if (spec.it_value.tv_sec == 0 && spec.it_value.tv_nsec == 0) spec.it_value.tv_nsec = 1;
  ::timerfd_settime(bus_timer_fd_, TFD_TIMER_ABSTIME, &spec, nullptr);
}

gboolean usbdevfs_device::on_bus_timer(gint fd, GIOCondition, gpointer hook) {
  auto* h = static_cast<timer_hook*>(hook);
  std::uint64_t expirations = 0;
  (void)::read(fd, &expirations, sizeof expirations);
  std::lock_guard hook_lock(h->mu);
  if (h->device == nullptr) return G_SOURCE_REMOVE;
  h->device->bus_timer_fired();
  return G_SOURCE_CONTINUE;
}

void usbdevfs_device::bus_timer_fired() {
  std::lock_guard lock(mu_);
  const auto now = usb_bus::clock::now();
  while (!on_bus_.empty() && on_bus_.begin()->first <= now) {
    finish(on_bus_.begin()->second.urb, 0, on_bus_.begin()->second.actual_length);
    on_bus_.erase(on_bus_.begin());
  }
  fill_in_urbs();
}

void usbdevfs_device::finish(UMockdevIoctlData* urbd, int status, int actual_length) {
  usbdevfs_urb* urb = urb_of(urbd);
  if (trace)
    std::fprintf(stderr, "tether-sim: trace: complete ep=0x%02x status=%d actual=%d\n",
                 urb->endpoint, status, actual_length);
  urb->status = status;
  urb->actual_length = actual_length;
  auto owner = owner_.find(urbd);
  auto queue = owner == owner_.end() ? completed_.end() : completed_.find(owner->second);
  if (queue == completed_.end()) return forget(urbd);  // its file is gone
  queue->second.push_back(urbd);
  ++completed_count_;
  signal_reapable();
}

void usbdevfs_device::signal_reapable() {
  if (fifo_slot_open_ || fifo_fd_ < 0) return;
  char sink[fifo_chunk];
  const ssize_t n = ::read(fifo_fd_, sink, sizeof sink);
  if (n > 0) fifo_slot_open_ = true;
  if (trace) std::fprintf(stderr, "tether-sim: trace: fifo open slot: read %zd\n", n);
}

void usbdevfs_device::reap(UMockdevIoctlClient* client, UMockdevIoctlData* arg) {
  auto queue = completed_.find(client);
  if (queue == completed_.end() || queue->second.empty()) {
    umockdev_ioctl_client_complete(client, -1, gone(client) ? ENODEV : EAGAIN);
    return;
  }
  UMockdevIoctlData* urbd = queue->second.front();
  queue->second.pop_front();
  --completed_count_;
  owner_.erase(urbd);
  UMockdevIoctlData* out = umockdev_ioctl_data_resolve(arg, 0, sizeof(void*), nullptr);
  if (auto staged = staged_in_.find(urbd); staged != staged_in_.end()) {
    if (!staged->second.empty()) {
      UMockdevIoctlData* buf = umockdev_ioctl_data_resolve(
          urbd, G_STRUCT_OFFSET(usbdevfs_urb, buffer), staged->second.size(), nullptr);
      if (buf != nullptr) std::memcpy(buf->data, staged->second.data(), staged->second.size());
    }
    staged_in_.erase(staged);
  }
  umockdev_ioctl_data_set_ptr(out, 0, urbd);
  if (completed_count_ == 0 && fifo_slot_open_) {
    char fill[fifo_chunk] = {};
    const ssize_t n = ::write(fifo_fd_, fill, sizeof fill);
    if (n > 0) fifo_slot_open_ = false;
    if (trace) std::fprintf(stderr, "tether-sim: trace: fifo close slot: wrote %zd\n", n);
  }
  umockdev_ioctl_client_complete(client, 0, 0);
  g_object_unref(urbd);
}

void usbdevfs_device::discard(UMockdevIoctlClient* client, UMockdevIoctlData* arg) {
  // The argument is the URB's address in the client, passed by value.
  gulong address = 0;
  std::memcpy(&address, arg->data, sizeof address);
  auto mine = [&](UMockdevIoctlData* d) {
    auto o = owner_.find(d);
    return d->client_addr == address && o != owner_.end() && o->second == client;
  };
  auto it = std::find_if(in_waiting_.begin(), in_waiting_.end(), mine);
  if (it == in_waiting_.end()) {
    // Still travelling on the bus: the kernel can unlink it too.
    for (auto b = on_bus_.begin(); b != on_bus_.end(); ++b) {
      if (!mine(b->second.urb)) continue;
      UMockdevIoctlData* urbd = b->second.urb;
      on_bus_.erase(b);
      complete(urbd, -ENOENT, 0);
      umockdev_ioctl_client_complete(client, 0, 0);
      return;
    }
    umockdev_ioctl_client_complete(client, -1, EINVAL);
    return;
  }
  UMockdevIoctlData* urbd = *it;
  in_waiting_.erase(it);
  complete(urbd, -ENOENT, 0);
  umockdev_ioctl_client_complete(client, 0, 0);
}

}  // namespace tether::sim
