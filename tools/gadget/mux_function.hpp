#pragma once
// The usbmux interface of the gadget: one virtual_phone (its mux session and apps)
// behind the two FunctionFS instances that carry usbmux, one in configuration 3 and
// one in 4. ENABLE on an instance means the host chose its configuration: the phone
// restarts its mux there, as SET_CONFIGURATION does on a real phone. DISABLE or
// UNBIND of that instance deconfigures it.
//
// Bulk I/O runs on two threads, one per direction (one thread doing both deadlocks
// when a read exactly fills its buffer). The reader takes each completed OUT read as
// one controller read; the writer writes each mux packet as one write, plus a ZLP
// when the packet ends on a full packet (in_transfers.hpp). Both block in the kernel;
// the main loop interrupts them by signal when the active instance changes or the
// program stops (kick_stale, every few tens of milliseconds, covers a signal that
// arrived just before a thread went into its read or write).
//
// Every touch of the phone happens under one lock: the threads, the main loop's ep0
// events, apps with sockets (app_host) and control commands.
#include <pthread.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "phone/virtual_phone.hpp"

namespace tether::gadget {

class mux_function : private sim::app_host {
 public:
  // `drain_events` reads every instance's pending ep0 events; it is called with the
  // lock held, before each OUT read reaches the phone, so the host's first VERSION
  // never meets the state of a configuration it has already left.
  mux_function(sim::virtual_phone phone, std::function<void()> drain_events);
  ~mux_function() override;
  mux_function(const mux_function&) = delete;
  mux_function& operator=(const mux_function&) = delete;

  // The endpoint files of the instance carrying usbmux in `configuration`.
  void add_instance(std::uint8_t configuration, int out_fd, int in_fd);
  void start();
  // Stops both threads (bounded) and closes the endpoint files.
  void stop();

  std::mutex& lock() { return mu_; }
  // ep0 events, with lock() held.
  void enabled_locked(std::uint8_t configuration);
  void disabled_locked(std::uint8_t configuration);
  bool active_locked() const { return active_ >= 0; }

  // Interrupts a thread blocked on an instance that is no longer the active one.
  void kick_stale();

  // Faults and a look inside (each takes the lock).
  void with_phone(const std::function<void(sim::virtual_phone&)>& f);
  void stall(bool in);
  void set_delay(std::chrono::milliseconds extra);

  const sim::iphone_identity& identity() const { return phone_.identity(); }

 private:
  struct instance {
    std::uint8_t configuration;
    int out_fd;
    int in_fd;
  };
  // What each thread is blocked on, for kick_stale.
  struct thread_state {
    std::thread thread;
    pthread_t handle{};
    bool in_call = false;  // inside a read or write of `inst`'s endpoint
    int inst = -1;
    bool exited = false;
  };

  void with_session(const std::function<void(usbmux::device_session*)>& f) override;
  void read_loop();
  void write_loop();
  bool needs_kick(const thread_state& t, bool reader) const;
  void kick_stale_locked();
  int find(std::uint8_t configuration) const;

  std::mutex mu_;
  std::condition_variable wake_;  // the writer: data may be due; both: state changed
  sim::virtual_phone phone_;
  std::function<void()> drain_events_;
  std::vector<instance> instances_;
  int active_ = -1;  // index into instances_, or -1 when no usbmux configuration is on
  bool stopping_ = false;
  bool stall_in_ = false;
  bool stall_out_ = false;
  std::chrono::milliseconds delay_{0};
  thread_state reader_;
  thread_state writer_;
};

}  // namespace tether::gadget
