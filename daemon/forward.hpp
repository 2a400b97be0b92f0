#pragma once
// One port forward: a TCP listener on this machine whose every client is joined to a
// port on a phone (the one with the forward's UDID, or the only phone attached). The
// listener stays up whatever the phones do; a client that arrives while the phone or
// its app is not there waits while the phone is retried with back-off, and the
// forward's state says why.
#include <asio/ip/tcp.hpp>
#include <chrono>
#include <memory>
#include <set>
#include <string>

#include "base/quiet_timer.hpp"
#include "base/repeat_limiter.hpp"
#include "base/result.hpp"
#include "daemon/device_registry.hpp"
#include "proto/tetherd/control.hpp"

namespace tether::daemon {

struct retry_policy {
  std::chrono::milliseconds first{100};
  std::chrono::milliseconds max{2000};
  std::chrono::milliseconds give_up{30000};  // a waiting client is closed after this
};

class forward : public std::enable_shared_from_this<forward> {
 public:
  forward(asio::io_context& io, device_registry& devices, proto::tetherd::forward_spec spec,
          retry_policy retry);
  // Binds and listens; a failure's detail names the address and port.
  base::result<void> open();
  void start();
  // Closes the listener and every client, sending RST to the phone for each.
  void stop();
  proto::tetherd::forward_status status() const;
  const proto::tetherd::forward_spec& spec() const { return status_.spec; }
  void rename(std::string name) { status_.spec.name = std::move(name); }

 private:
  class client;
  void accept();
  void set_state(const std::string& state, const std::string& error = {});
  // A client's app accepted and has not answered (silent) or answered after all.
  void app_silent(const std::string& who, std::uint16_t port, bool silent);

  asio::io_context& io_;
  device_registry& devices_;
  retry_policy retry_;
  asio::ip::tcp::acceptor acceptor_;
  proto::tetherd::forward_status status_;
  std::set<std::shared_ptr<client>> clients_;
  base::repeat_limiter silences_;  // one line for many clients of a suspended app
  bool stopped_ = false;
};

}  // namespace tether::daemon
