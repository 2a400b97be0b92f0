#include "tools/camera/mux_connection.hpp"

namespace tether::camera {

mux_connection::mux_connection(asio::io_context& io, std::string address)
    : address_(std::move(address)), socket_(io) {}

void mux_connection::connect(std::function<void(const std::string&)> done) {
  const auto where = proto::usbmuxd::parse_daemon_address(address_);
  if (!where) {
    done(where.describe());
    return;
  }
  const auto& e = *where;
  asio::generic::stream_protocol::endpoint ep;
  if (!e.unix_path.empty()) {
    ep = asio::local::stream_protocol::endpoint(e.unix_path);
  } else {
    std::error_code ec;
    const auto ip = asio::ip::make_address(e.host, ec);
    if (ec) {
      done("the usbmuxd address " + address_ + " names no IP address (a name is not looked up)");
      return;
    }
    ep = asio::ip::tcp::endpoint(ip, e.port);
  }
  socket_.async_connect(ep, [self = shared_from_this(), done](std::error_code ec) {
    if (ec)
      done("cannot reach the usbmuxd socket " + self->address_ + ": " + ec.message() +
           " (is tetherd running? --usbmuxd or USBMUXD_SOCKET_ADDRESS choose another)");
    else
      done("");
  });
}

void mux_connection::send(plist_t dict) {
  auto message = std::make_shared<std::vector<std::byte>>(
      proto::usbmuxd::encode_client_request(++tag_, dict, "tether-camera"));
  asio::async_write(socket_, asio::buffer(*message),
                    [self = shared_from_this(), message](std::error_code, std::size_t) {});
}

void mux_connection::read_message(
    std::function<void(proto::plist_ptr, const std::string&)> handler) {
  // Exactly one message, header then body: after a Connect reply the phone's bytes
  // follow on the same socket, and they must stay there for the session.
  asio::async_read(
      socket_, asio::buffer(header_),
      [self = shared_from_this(), handler = std::move(handler)](std::error_code ec,
                                                                std::size_t) mutable {
        if (ec) {
          handler(nullptr, ec == asio::error::eof ? std::string("the daemon hung up")
                                                  : "lost the daemon: " + ec.message());
          return;
        }
        const auto length = proto::usbmuxd::message_length(self->header_);
        if (!length) {
          handler(nullptr, length.describe());
          return;
        }
        self->body_.resize(*length - proto::usbmuxd::header_size);
        asio::async_read(
            self->socket_, asio::buffer(self->body_),
            [self, handler = std::move(handler)](std::error_code ec2, std::size_t) mutable {
              if (ec2) {
                handler(nullptr, "lost the daemon: " + ec2.message());
                return;
              }
              auto message = proto::usbmuxd::decode_daemon_message(self->body_);
              if (!message)
                handler(nullptr, message.describe());
              else
                handler(std::move(message).value(), "");
            });
      });
}

void mux_connection::close() {
  std::error_code ignored;
  socket_.close(ignored);
}

}  // namespace tether::camera
