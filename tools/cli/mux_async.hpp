#pragma once
// usbmuxd on an io_context, for `tether cam view`, whose one thread must not block on
// the daemon: ListDevices and Connect to a phone's port, as phone_port.cpp makes them
// with the blocking mux_client, with the same requests, checks and words (phones.hpp,
// phone_port.hpp, mux_client.hpp) on proto/usbmuxd's codec. Each request is its own
// connection to the daemon, and the daemon has daemon_wait to connect and answer.
#include <asio/generic/stream_protocol.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "tools/cli/cli_error.hpp"
#include "tools/cli/phones.hpp"

namespace tether::cli {

using stream_socket = asio::generic::stream_protocol::socket;

class mux_exchange;

class phone_dialer {
 public:
  static constexpr std::chrono::seconds daemon_wait{5};
  // Resolves the daemon's address once, here (a host name in USBMUXD_SOCKET_ADDRESS is
  // looked up before the loop runs); throws cli_error as mux_client does.
  phone_dialer(asio::io_context& io, std::string address, std::string udid);
  ~phone_dialer();  // cancel()
  phone_dialer(const phone_dialer&) = delete;
  phone_dialer& operator=(const phone_dialer&) = delete;

  // Chooses the phone (--udid or the only one) and connects to `port` on it: the socket
  // (the phone's port, nothing of it read yet), or the error.
  using opened = std::function<void(std::optional<stream_socket> s, const cli_error* error)>;
  void open_port(std::uint16_t port, opened done);
  // Whether the daemon still lists the chosen phone; nothing when it cannot be asked.
  void still_listed(std::function<void(std::optional<bool>)> done);
  // Ends the exchange under way; its callback is not called.
  void cancel();
  const std::string& address() const { return address_; }
  const phone& chosen() const { return chosen_; }

 private:
  asio::io_context& io_;
  std::string address_, udid_;
  asio::generic::stream_protocol::endpoint endpoint_;
  std::string unix_path_;  // empty: TCP
  phone chosen_;
  std::shared_ptr<mux_exchange> current_;
};

}  // namespace tether::cli
