#pragma once
// Opens a mux connection to a phone port and reports once how it went: connected, or
// failed with the reason in words a user can act on. Until the caller hands the
// connection on (to a relay), the dialer owns it in the registry and remembers
// whether the phone has already closed it.
#include <functional>
#include <memory>
#include <string>

#include "daemon/device_registry.hpp"

namespace tether::daemon {

class dialer : public device_registry::conn_owner, public std::enable_shared_from_this<dialer> {
 public:
  enum class outcome { connected, no_such_phone, refused, timed_out, phone_gone, failed };
  using done_fn = std::function<void(dialer&, outcome, const std::string& why)>;

  // `who` names the client in log lines and in TetherStatus.
  static std::shared_ptr<dialer> dial(device_registry& devices, std::uint32_t device_id,
                                      std::uint16_t port, std::string who, done_fn done);

  std::uint32_t device_id() const { return device_id_; }
  usbmux::conn_id conn() const { return conn_; }
  std::uint16_t port() const { return port_; }
  const std::string& who() const { return who_; }
  // The phone reset the connection after accepting it, before a relay took over.
  bool phone_closed() const { return phone_closed_; }
  // Gives the connection up (RST) when the caller no longer wants it.
  void cancel();

  void on_conn_event(const usbmux::event& e) override;
  connection_status status() const override;

  dialer(device_registry& devices, std::uint32_t device_id, std::uint16_t port, std::string who,
         done_fn done);

 private:
  void finish(outcome o, const std::string& why);

  device_registry& devices_;
  std::uint32_t device_id_;
  std::uint16_t port_;
  std::string who_;
  done_fn done_;
  usbmux::conn_id conn_ = 0;
  bool reported_ = false;
  bool phone_closed_ = false;
  std::chrono::steady_clock::time_point since_ = std::chrono::steady_clock::now();
};

}  // namespace tether::daemon
