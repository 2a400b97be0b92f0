// usbdevfs_device, part two: the URB lifecycle. Submit, complete on the bus's clock,
// reap and discard, as the kernel's usbfs does for libusb.
#include "tools/sim/usbdevfs_device.hpp"

#include "base/byte_order.hpp"
#include "tools/sim/usbdevfs_urb.hpp"

#include <fcntl.h>
#include <glib-unix.h>
#include <linux/usbdevice_fs.h>
#include <sys/ioctl.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace tether::sim {
using detail::fifo_chunk;
using detail::trace;
using detail::urb_of;

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
      complete_on_bus(urbd, urb->buffer_length, false);
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
    complete_on_bus(urbd, static_cast<int>(*n), true);
  }
  arm_bus_timer();  // for whatever the function will have later
}

void usbdevfs_device::complete(UMockdevIoctlData* urbd, int status, int actual_length) {
  finish(urbd, status, actual_length);
}

void usbdevfs_device::complete_on_bus(UMockdevIoctlData* urbd, int actual_length, bool in) {
  if (bus_.unlimited() && extra_delay_.count() == 0) return finish(urbd, 0, actual_length);
  const auto due =
      bus_.schedule(static_cast<std::size_t>(actual_length), in, usb_bus::clock::now()) +
      extra_delay_;
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
