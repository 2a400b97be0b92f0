#pragma once
// libusb inside an Asio io_context: libusb's file descriptors are watched by the
// io_context, and libusb's events are handled (without blocking) when one is ready.
// Every transfer and hotplug callback therefore runs on the io_context's thread and
// needs no locks. Requires libusb_pollfds_handle_timeouts() (true on Linux).
#include <libusb.h>

#include <asio/io_context.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/steady_timer.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <system_error>

namespace tether::usb {

class event_loop {
 public:
  explicit event_loop(asio::io_context& io);
  ~event_loop();
  event_loop(const event_loop&) = delete;
  event_loop& operator=(const event_loop&) = delete;

  // Initialises libusb; false (with the reason) when it cannot.
  std::error_code start();
  libusb_context* context() const { return ctx_; }
  asio::io_context& io() const { return io_; }

  // Runs libusb's event handling once without waiting.
  void handle_events();

  // Waits on libusb descriptors that failed (they fall back to a 1 ms poll rather
  // than stall the phone). Always 0 on a healthy system; tests assert it.
  std::uint64_t wait_failures() const { return wait_failures_; }

 private:
  struct watch {
    asio::posix::stream_descriptor fd;
    short events;
    bool closed = false;
  };

  static void LIBUSB_CALL fd_added(int fd, short events, void* self);
  static void LIBUSB_CALL fd_removed(int fd, void* self);
  void add(int fd, short events);
  void remove(int fd);
  void arm(const std::shared_ptr<watch>& w, asio::posix::stream_descriptor::wait_type type);

  asio::io_context& io_;
  libusb_context* ctx_ = nullptr;
  std::map<int, std::shared_ptr<watch>> watches_;
  std::uint64_t wait_failures_ = 0;
};

}  // namespace tether::usb
