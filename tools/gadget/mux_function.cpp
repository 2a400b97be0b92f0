#include "tools/gadget/mux_function.hpp"

#include <linux/usb/functionfs.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/log.hpp"
#include "tools/gadget/in_transfers.hpp"

namespace tether::gadget {
namespace {

// Larger than any read the phone's mux takes (65535), so a host transfer that ran on
// into the next one shows as too large rather than being cut at the buffer's end.
constexpr std::size_t out_read_size = 128 * 1024;
// Larger than any packet the session makes: each bulk_in() is then one whole packet.
constexpr std::size_t in_packet_buffer = 128 * 1024;
// How long the writer naps when the session said data was due but made no packet.
constexpr auto writer_idle = std::chrono::milliseconds(50);
// How long stop() waits for the threads before leaving them behind.
constexpr auto stop_timeout = std::chrono::seconds(3);

// SIGUSR1 only interrupts the I/O threads' blocking calls (no SA_RESTART).
constexpr int kick_signal = SIGUSR1;
void on_kick(int) {}

void install_kick_handler() {
  struct sigaction sa {};
  sa.sa_handler = on_kick;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;
  ::sigaction(kick_signal, &sa, nullptr);
}

bool transient(int err) { return err == EINTR || err == ESHUTDOWN || err == EAGAIN; }

}  // namespace

mux_function::mux_function(sim::virtual_phone phone, std::function<void()> drain_events)
    : phone_(std::move(phone)), drain_events_(std::move(drain_events)) {
  // Deconfigured until the host chooses a configuration that carries usbmux.
  phone_.set_configuration(0);
  phone_.set_app_host(this);
}

mux_function::~mux_function() { stop(); }

void mux_function::add_instance(std::uint8_t configuration, int out_fd, int in_fd) {
  instances_.push_back({configuration, out_fd, in_fd});
}

int mux_function::find(std::uint8_t configuration) const {
  for (std::size_t i = 0; i < instances_.size(); ++i)
    if (instances_[i].configuration == configuration) return static_cast<int>(i);
  return -1;
}

void mux_function::start() {
  install_kick_handler();
  reader_.thread = std::thread([this] { read_loop(); });
  writer_.thread = std::thread([this] { write_loop(); });
  reader_.handle = reader_.thread.native_handle();
  writer_.handle = writer_.thread.native_handle();
}

void mux_function::stop() {
  {
    std::lock_guard l(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  const auto deadline = std::chrono::steady_clock::now() + stop_timeout;
  for (;;) {
    {
      std::lock_guard l(mu_);
      kick_stale_locked();
      const bool reader_done = !reader_.thread.joinable() || reader_.exited;
      const bool writer_done = !writer_.thread.joinable() || writer_.exited;
      if (reader_done && writer_done) break;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      log::error("the bulk I/O threads did not stop within 3 s; leaving them behind");
      if (reader_.thread.joinable()) reader_.thread.detach();
      if (writer_.thread.joinable()) writer_.thread.detach();
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (reader_.thread.joinable()) reader_.thread.join();
  if (writer_.thread.joinable()) writer_.thread.join();
  for (instance& i : instances_) {
    ::close(i.out_fd);
    ::close(i.in_fd);
  }
  instances_.clear();
}

void mux_function::enabled_locked(std::uint8_t configuration) {
  const int i = find(configuration);
  if (i < 0) return;
  active_ = i;
  phone_.set_configuration(configuration);  // a fresh mux, as on SET_CONFIGURATION
  log::info("usbmux on in configuration " + std::to_string(configuration));
  wake_.notify_all();
  kick_stale_locked();
}

void mux_function::disabled_locked(std::uint8_t configuration) {
  if (active_ < 0 || instances_[static_cast<std::size_t>(active_)].configuration != configuration)
    return;
  active_ = -1;
  phone_.set_configuration(0);
  log::info("usbmux off (configuration " + std::to_string(configuration) + " left)");
  wake_.notify_all();
  kick_stale_locked();
}

bool mux_function::needs_kick(const thread_state& t, bool reader) const {
  if (!t.in_call || t.exited) return false;
  return stopping_ || t.inst != active_ || (reader ? stall_out_ : stall_in_);
}

void mux_function::kick_stale() {
  std::lock_guard l(mu_);
  kick_stale_locked();
}

void mux_function::kick_stale_locked() {
  // A kick too many only costs the thread one EINTR.
  if (needs_kick(reader_, true)) ::pthread_kill(reader_.handle, kick_signal);
  if (needs_kick(writer_, false)) ::pthread_kill(writer_.handle, kick_signal);
}

void mux_function::with_phone(const std::function<void(sim::virtual_phone&)>& f) {
  {
    std::lock_guard l(mu_);
    f(phone_);
    if (phone_.session() != nullptr) phone_.run_apps();
  }
  wake_.notify_all();
}

void mux_function::with_session(const std::function<void(usbmux::device_session*)>& f) {
  {
    std::lock_guard l(mu_);
    f(phone_.session());
    if (phone_.session() != nullptr) phone_.run_apps();
  }
  wake_.notify_all();
}

void mux_function::stall(bool in) {
  {
    std::lock_guard l(mu_);
    (in ? stall_in_ : stall_out_) = true;
    kick_stale_locked();
  }
  wake_.notify_all();
}

void mux_function::set_delay(std::chrono::milliseconds extra) {
  std::lock_guard l(mu_);
  delay_ = extra;
}

void mux_function::read_loop() {
  std::vector<std::byte> buf(out_read_size);
  std::unique_lock l(mu_);
  while (!stopping_) {
    if (active_ < 0) {
      wake_.wait(l);
      continue;
    }
    const int inst = active_;
    const int fd = instances_[static_cast<std::size_t>(inst)].out_fd;
    if (stall_out_) {
      // FunctionFS halts an OUT endpoint when its file is written.
      stall_out_ = false;
      l.unlock();
      const ssize_t rc = ::write(fd, buf.data(), 1);
      l.lock();
      log::info(rc < 0 && errno == EBADMSG
                    ? "bulk OUT halted"
                    : std::string("could not halt bulk OUT: ") + std::strerror(errno));
      continue;
    }
    reader_.in_call = true;
    reader_.inst = inst;
    const auto delay = delay_;
    l.unlock();
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    const int err = errno;
    if (n >= 0 && delay.count() > 0) std::this_thread::sleep_for(delay);
    l.lock();
    reader_.in_call = false;
    if (n < 0) {
      if (!transient(err)) {
        log::warn(std::string("bulk OUT read failed: ") + std::strerror(err));
        l.unlock();
        std::this_thread::sleep_for(writer_idle);  // not a spin on a broken endpoint
        l.lock();
      }
      continue;
    }
    drain_events_();
    if (active_ != inst) continue;  // the host left that configuration meanwhile
    phone_.controller_read(std::span(buf).first(static_cast<std::size_t>(n)));
    wake_.notify_all();
  }
  reader_.exited = true;
}

void mux_function::write_loop() {
  std::vector<std::byte> packet(in_packet_buffer);
  std::uint16_t max_packet = 0;  // of the active instance's IN endpoint; 0: ask again
  int max_packet_of = -1;
  bool nap = false;
  std::unique_lock l(mu_);
  while (!stopping_) {
    if (nap) {
      wake_.wait_for(l, writer_idle);
      nap = false;
      continue;
    }
    if (active_ < 0 || (!stall_in_ && !phone_.in_data_due())) {
      wake_.wait(l);
      continue;
    }
    const int inst = active_;
    const int fd = instances_[static_cast<std::size_t>(inst)].in_fd;
    if (stall_in_) {
      // FunctionFS halts an IN endpoint when its file is read.
      stall_in_ = false;
      l.unlock();
      const ssize_t rc = ::read(fd, packet.data(), 1);
      l.lock();
      log::info(rc < 0 && errno == EBADMSG
                    ? "bulk IN halted"
                    : std::string("could not halt bulk IN: ") + std::strerror(errno));
      continue;
    }
    const auto n = phone_.bulk_in(sim::usbmux_in_endpoint, packet);
    if (!n) {
      nap = true;
      continue;
    }
    writer_.in_call = true;
    writer_.inst = inst;
    const auto delay = delay_;
    l.unlock();
    if (max_packet_of != inst) {
      // The endpoint descriptor of the speed the host connected at (64 at full speed).
      // Outside the lock: FunctionFS waits here while the endpoint is not enabled.
      usb_endpoint_descriptor d{};
      max_packet = ::ioctl(fd, FUNCTIONFS_ENDPOINT_DESC, &d) == 0 ? d.wMaxPacketSize : 512;
      max_packet_of = inst;
    }
    if (delay.count() > 0) std::this_thread::sleep_for(delay);
    ssize_t rc = ::write(fd, packet.data(), *n);
    if (rc == static_cast<ssize_t>(*n) && needs_zlp(*n, max_packet))
      rc = ::write(fd, packet.data(), 0);
    const int err = errno;
    l.lock();
    writer_.in_call = false;
    if (rc < 0 && !transient(err)) {
      log::warn(std::string("bulk IN write failed: ") + std::strerror(err));
      nap = true;
    }
    if (rc < 0 || active_ != inst) max_packet_of = -1;
  }
  writer_.exited = true;
}

}  // namespace tether::gadget
