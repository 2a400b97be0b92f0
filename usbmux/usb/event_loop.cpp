#include "usbmux/usb/event_loop.hpp"

#include <poll.h>

#include "usbmux/usb/usb_error.hpp"

namespace tether::usb {

event_loop::event_loop(asio::io_context& io) : io_(io) {}

event_loop::~event_loop() {
  if (ctx_ == nullptr) return;
  libusb_set_pollfd_notifiers(ctx_, nullptr, nullptr, nullptr);
  for (auto& [fd, w] : watches_) {
    w->closed = true;
    w->fd.release();  // the descriptor is libusb's to close, not Asio's
  }
  watches_.clear();
  libusb_exit(ctx_);
}

std::error_code event_loop::start() {
  if (int r = libusb_init(&ctx_); r != 0) {
    ctx_ = nullptr;
    return libusb_error(r);
  }
  if (!libusb_pollfds_handle_timeouts(ctx_)) return libusb_error(LIBUSB_ERROR_NOT_SUPPORTED);
  libusb_set_pollfd_notifiers(ctx_, &event_loop::fd_added, &event_loop::fd_removed, this);
  const libusb_pollfd** fds = libusb_get_pollfds(ctx_);
  for (const libusb_pollfd** p = fds; p != nullptr && *p != nullptr; ++p)
    add((*p)->fd, (*p)->events);
  libusb_free_pollfds(fds);
  return {};
}

void event_loop::handle_events() {
  timeval zero{};
  libusb_handle_events_timeout_completed(ctx_, &zero, nullptr);
}

void LIBUSB_CALL event_loop::fd_added(int fd, short events, void* self) {
  static_cast<event_loop*>(self)->add(fd, events);
}

void LIBUSB_CALL event_loop::fd_removed(int fd, void* self) {
  static_cast<event_loop*>(self)->remove(fd);
}

void event_loop::add(int fd, short events) {
  remove(fd);  // re-added with new events: drop the old watch without closing the fd
  auto w = std::make_shared<watch>(watch{asio::posix::stream_descriptor(io_, fd), events});
  watches_[fd] = w;
  if (events & POLLIN) arm(w, asio::posix::stream_descriptor::wait_read);
  if (events & POLLOUT) arm(w, asio::posix::stream_descriptor::wait_write);
}

void event_loop::remove(int fd) {
  auto it = watches_.find(fd);
  if (it == watches_.end()) return;
  // Called from inside libusb (e.g. libusb_close): pending waits finish later with
  // operation_aborted and see `closed`; the fd itself stays libusb's.
  it->second->closed = true;
  it->second->fd.cancel();
  it->second->fd.release();
  watches_.erase(it);
}

void event_loop::arm(const std::shared_ptr<watch>& w,
                     asio::posix::stream_descriptor::wait_type type) {
  w->fd.async_wait(type, [this, w, type](const std::error_code& ec) {
    if (w->closed || ec == asio::error::operation_aborted) return;
    if (ec) {
      // The descriptor cannot be waited on; never stop serving it: poll it instead.
      ++wait_failures_;
      auto retry = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(1));
      retry->async_wait([this, w, type, retry](const std::error_code& tec) {
        if (tec || w->closed) return;
        handle_events();
        if (!w->closed) arm(w, type);
      });
      return;
    }
    handle_events();
    if (!w->closed) arm(w, type);
  });
}

}  // namespace tether::usb
