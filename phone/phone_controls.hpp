#pragma once
// What the control socket can do to one virtual phone. tether-sim's phones (umockdev)
// and tether-gadget's phone (a real USB gadget) both implement it, so one interpreter
// (control_commands) serves both programs with the same commands and replies.
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "phone/app_lifecycle.hpp"
#include "phone/phone_modes.hpp"

namespace tether::sim {

class phone_trust;

class phone_controls {
 public:
  virtual ~phone_controls() = default;

  virtual std::string udid() const = 0;
  virtual bool plugged() const = 0;
  // Cable in / cable out. plug() says why it failed in `error`.
  virtual bool plug(std::string& error) = 0;
  virtual void unplug() = 0;

  // Faults.
  virtual void stall(bool in) = 0;  // halt the mux's bulk IN or OUT endpoint
  virtual void set_delay(std::chrono::milliseconds extra) = 0;  // on every bulk completion
  virtual void drop() = 0;  // the link fails mid-transfer, then the phone is gone
  virtual void inject_garbage() = 0;
  virtual void reset_connections() = 0;
  // Data for a connection the host does not have (phone port `port`, host port `host_port`).
  virtual void inject_stale_packet(std::uint16_t port, std::uint16_t host_port) = 0;
  virtual void set_version_muted(bool muted) = 0;

  // One line of NAME=VALUE pairs: what the phone made of the host's transfers.
  virtual std::string stats() = 0;

  // The app's lifecycle (app_lifecycle.hpp). False, with `error` in words, when no app
  // listens on `port`.
  virtual bool set_app_state(std::uint16_t port, app_state s, std::string& error) = 0;
  // What real phones do (issue 15). Locked: attached, no mux data; hidden (USB
  // Restricted Mode): off the bus until unlocked. Unlocking a hidden phone plugs it.
  virtual void set_lock(lock_mode m) = 0;
  virtual void set_control_texts(bool on) = 0;      // CONTROL type 7 on session open/close
  virtual void set_stale_order(stale_order o) = 0;  // old session's packets to a new host
  virtual void send_version() = 0;  // VERSION inside the live session (its mux restarts)
  // Leaves the bus and comes back with a new bus address, as tapping Trust has made
  // phones do (real-phone.md 0.3): a departure and an arrival, a new DeviceID.
  virtual bool reenumerate(std::string& error) = 0;
  // Runs `f` on the phone's trust (lockdown_responder.hpp: the Trust dialog, the hosts
  // it trusts, the passcode lock) under the lock its lockdownd runs under.
  virtual void with_trust(const std::function<void(phone_trust&)>& f) = 0;
};

}  // namespace tether::sim
