#pragma once
// Where clients reach tetherd: the unix socket (/var/run/usbmuxd by default, mode 0660
// with a chosen group) and, optionally, a loopback TCP port (libusbmuxd clients reach
// it with USBMUXD_SOCKET_ADDRESS=127.0.0.1:PORT). Each accepted socket becomes a
// client_session.
#include <asio/generic/stream_protocol.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/local/stream_protocol.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/quiet_timer.hpp"
#include "base/result.hpp"
#include "daemon/daemon_context.hpp"

namespace tether::daemon {

class client_session;

class client_listener {
 public:
  client_listener(asio::io_context& io, daemon_context& ctx) : io_(io), ctx_(ctx), backoff_(io) {}
  ~client_listener() { close(); }

  // Replaces a stale socket file, but never a live socket (another usbmuxd) or a file
  // that is not a socket. Each failure's detail names the path.
  base::result<void> listen_unix(const std::string& path, const std::string& group);
  // "ADDRESS:PORT" ("[::1]:PORT" for IPv6). Loopback only unless `allow_remote`.
  base::result<void> listen_tcp(const std::string& address_port, bool allow_remote);
  // Serves a listening socket made by someone else (systemd's socket activation): its
  // path, owner and mode are theirs, and it is theirs to remove.
  base::result<void> adopt(int fd);
  std::string describe() const;
  // Stops accepting and removes the socket file (when it is tetherd's, and tetherd
  // still may).
  void close();
  // Drops every client still in the usbmuxd protocol (relays end with their phones).
  void close_clients();
  // Clients connected now (a `tether watch`, a forward being used, an iproxy).
  std::size_t clients() const;

 private:
  void accept_unix();
  void accept_tcp();
  void pause(std::function<void()> then);
  void serve(asio::generic::stream_protocol::socket s);

  asio::io_context& io_;
  daemon_context& ctx_;
  std::optional<asio::local::stream_protocol::acceptor> unix_;
  std::optional<asio::ip::tcp::acceptor> tcp_;
  std::string unix_path_;
  std::string tcp_where_;
  bool adopted_ = false;
  base::quiet_timer backoff_;
  std::uint32_t next_client_ = 1;
  std::vector<std::weak_ptr<client_session>> sessions_;
};

// Splits "ADDRESS:PORT" at the last colon ("[::1]:27015" too); false if malformed.
bool split_address_port(const std::string& s, std::string& address, std::uint16_t& port);

}  // namespace tether::daemon
