#include "tools/camera/mux_connection.hpp"

#include <cstdlib>

namespace tether::camera {

std::string daemon_address(const std::string& from_option) {
  if (!from_option.empty()) return from_option;
  if (const char* env = std::getenv("USBMUXD_SOCKET_ADDRESS"); env != nullptr && env[0] != '\0')
    return env;
  return "/var/run/usbmuxd";
}

mux_connection::mux_connection(asio::io_context& io, std::string address)
    : address_(std::move(address)), socket_(io) {}

void mux_connection::connect(std::function<void(const std::string&)> done) {
  std::string where = address_;
  if (where.rfind("UNIX:", 0) == 0) where = where.substr(5);
  asio::generic::stream_protocol::endpoint ep;
  if (where.find('/') != std::string::npos) {
    ep = asio::local::stream_protocol::endpoint(where);
  } else if (const auto colon = where.rfind(':'); colon != std::string::npos) {
    std::error_code ec;
    const auto ip = asio::ip::make_address(where.substr(0, colon), ec);
    const long port = std::strtol(where.c_str() + colon + 1, nullptr, 10);
    if (ec || port <= 0 || port > 65535) {
      done("the usbmuxd address " + address_ + " is not a path or IP:PORT");
      return;
    }
    ep = asio::ip::tcp::endpoint(ip, static_cast<std::uint16_t>(port));
  } else {
    done("the usbmuxd address " + address_ + " is not a path or IP:PORT");
    return;
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
  plist_dict_set_item(dict, "ProgName", plist_new_string("tether-camera"));
  plist_dict_set_item(dict, "ClientVersionString",
                      plist_new_string("tether-camera " TETHER_VERSION));
  plist_dict_set_item(dict, "kLibUSBMuxVersion", plist_new_uint(3));
  auto message =
      std::make_shared<std::vector<std::byte>>(proto::usbmuxd::encode_plist(++tag_, dict));
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
        std::uint32_t length = 0;
        for (int i = 3; i >= 0; --i)
          length = (length << 8) |
                   std::to_integer<std::uint32_t>(self->header_[static_cast<std::size_t>(i)]);
        if (length < proto::usbmuxd::header_size || length > proto::usbmuxd::max_message) {
          handler(nullptr, "the daemon sent a message of " + std::to_string(length) +
                               " bytes, which is not the usbmuxd protocol");
          return;
        }
        self->body_.resize(length - proto::usbmuxd::header_size);
        asio::async_read(
            self->socket_, asio::buffer(self->body_),
            [self, handler = std::move(handler)](std::error_code ec2, std::size_t) mutable {
              if (ec2) {
                handler(nullptr, "lost the daemon: " + ec2.message());
                return;
              }
              plist_t root = nullptr;
              plist_from_memory(reinterpret_cast<const char*>(self->body_.data()),
                                static_cast<std::uint32_t>(self->body_.size()), &root);
              if (root == nullptr || plist_get_node_type(root) != PLIST_DICT) {
                if (root != nullptr) plist_free(root);
                handler(nullptr, "the daemon sent a message that is not a plist dictionary");
                return;
              }
              handler(proto::plist_ptr(root), "");
            });
      });
}

void mux_connection::close() {
  std::error_code ignored;
  socket_.close(ignored);
}

}  // namespace tether::camera
