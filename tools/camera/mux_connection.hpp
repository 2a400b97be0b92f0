#pragma once
// One connection to the usbmuxd socket (tetherd, or the reference usbmuxd), driven by
// Asio: plist requests out, plist messages in. The phone watcher keeps one open for
// Listen events; each phone connection starts as one, and after a Connect with result
// 0 its socket is the phone's port.
//
// Asio around proto/usbmuxd/client, which the CLI's blocking client shares: the camera
// service's I/O thread must never block on a phone.
#include <asio.hpp>
#include <functional>
#include <memory>
#include <string>
#include <system_error>

#include "camera/stream_socket.hpp"
#include "proto/plist_util.hpp"
#include "proto/usbmuxd/client.hpp"

namespace tether::camera {

// Where the daemon is: --usbmuxd, else $USBMUXD_SOCKET_ADDRESS, else /var/run/usbmuxd.
using proto::usbmuxd::daemon_address;

class mux_connection : public std::enable_shared_from_this<mux_connection> {
 public:
  mux_connection(asio::io_context& io, std::string address);

  // Connects to the daemon; the error's message says what to check.
  void connect(std::function<void(const std::string& error)> done);
  // Sends a request (MessageType set by the caller; ProgName and the client version are
  // added). Takes the dictionary. A failed write shows up as the next read's error.
  void send(plist_t dict);
  // The next message from the daemon; nullptr with a reason when it hung up.
  void read_message(std::function<void(proto::plist_ptr, const std::string& error)> handler);

  // After a successful Connect: the socket, now the phone's port. Messages are read
  // exactly, so none of the phone's bytes were taken.
  stream_socket take_socket() { return std::move(socket_); }
  void close();
  const std::string& address() const { return address_; }

 private:
  std::string address_;
  stream_socket socket_;
  std::uint32_t tag_ = 0;
  std::array<std::byte, proto::usbmuxd::header_size> header_{};  // little-endian length first
  std::vector<std::byte> body_;
};

}  // namespace tether::camera
