#include "tools/cli/mux_async.hpp"

#include <netdb.h>

#include <sys/un.h>

#include <algorithm>
#include <array>
#include <asio/connect.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/local/stream_protocol.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>
#include <vector>

#include "proto/usbmuxd/client.hpp"
#include "tools/cli/mux_client.hpp"
#include "tools/cli/phone_port.hpp"

namespace tether::cli {

// One request on its own connection to the daemon: connect, send, read exactly one
// reply (after a Connect's, the phone's bytes stay in the socket), all within
// daemon_wait.
class mux_exchange : public std::enable_shared_from_this<mux_exchange> {
 public:
  using done_fn = std::function<void(proto::plist_ptr reply, const cli_error* error)>;
  mux_exchange(asio::io_context& io, const std::string& address, const std::string& unix_path)
      : address_(address), unix_path_(unix_path), socket_(io), timer_(io) {}

  void run(const asio::generic::stream_protocol::endpoint& ep, plist_t request, done_fn done) {
    done_ = std::move(done);
    out_ = proto::usbmuxd::encode_client_request(1, request, "tether");
    timer_.expires_after(phone_dialer::daemon_wait);
    timer_.async_wait([self = shared_from_this()](std::error_code ec) {
      if (ec) return;
      self->fail(cli_error(failed, "the daemon at " + self->address_ + " did not answer within " +
                                       std::to_string(phone_dialer::daemon_wait.count()) +
                                       " s: is it stuck?"));
    });
    socket_.async_connect(ep, [self = shared_from_this()](std::error_code ec) {
      if (ec)
        return self->fail(daemon_unreachable(
            self->address_, self->unix_path_.empty()
                                ? ec.message()
                                : unix_connect_error(self->unix_path_, ec.value())));
      self->send();
    });
  }
  stream_socket take_socket() { return std::move(socket_); }
  void cancel() {
    done_ = nullptr;
    close();
  }

 private:
  void send() {
    asio::async_write(
        socket_, asio::buffer(out_), [self = shared_from_this()](std::error_code ec, std::size_t) {
          if (ec)
            return self->fail(cli_error(
                no_daemon, "lost the connection to " + self->address_ + ": " + ec.message()));
          self->read_header();
        });
  }
  void read_header() {
    asio::async_read(socket_, asio::buffer(header_),
                     [self = shared_from_this()](std::error_code ec, std::size_t) {
                       if (ec) return self->hung_up();
                       const auto length = proto::usbmuxd::message_length(self->header_);
                       if (!length) return self->unreadable(length.describe());
                       self->body_.resize(*length - self->header_.size());
                       self->read_body();
                     });
  }
  void read_body() {
    asio::async_read(socket_, asio::buffer(body_),
                     [self = shared_from_this()](std::error_code ec, std::size_t) {
                       if (ec) return self->hung_up();
                       auto m = proto::usbmuxd::decode_daemon_message(self->body_);
                       if (!m) return self->unreadable(m.describe());
                       self->timer_.cancel();
                       if (auto done = std::exchange(self->done_, nullptr))
                         done(std::move(m).value(), nullptr);
                     });
  }
  void hung_up() { fail(cli_error(no_daemon, "the daemon at " + address_ + " hung up")); }
  void unreadable(const std::string& why) {
    fail(cli_error(failed, "the daemon's reply cannot be read: " + why));
  }
  void fail(const cli_error& e) {
    close();
    if (auto done = std::exchange(done_, nullptr)) done(nullptr, &e);
  }
  void close() {
    std::error_code ignored;
    socket_.close(ignored);
    timer_.cancel();
  }

  std::string address_, unix_path_;
  stream_socket socket_;
  asio::steady_timer timer_;
  done_fn done_;
  std::vector<std::byte> out_, body_;
  std::array<std::byte, proto::usbmuxd::header_size> header_{};
};

phone_dialer::phone_dialer(asio::io_context& io, std::string address, std::string udid)
    : io_(io), address_(std::move(address)), udid_(std::move(udid)) {
  const auto where = proto::usbmuxd::parse_daemon_address(address_);
  if (!where) throw daemon_unreachable(address_, where.describe());
  const auto& e = *where;
  if (!e.unix_path.empty()) {
    if (e.unix_path.size() >= sizeof(sockaddr_un::sun_path))
      throw daemon_unreachable(address_, "socket path too long");
    endpoint_ = asio::local::stream_protocol::endpoint(e.unix_path);
    unix_path_ = e.unix_path;
    return;
  }
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (const int r = ::getaddrinfo(e.host.c_str(), std::to_string(e.port).c_str(), &hints, &res);
      r != 0)
    throw daemon_unreachable(address_, ::gai_strerror(r));
  endpoint_ = asio::generic::stream_protocol::endpoint(res->ai_addr, res->ai_addrlen);
  ::freeaddrinfo(res);
}

phone_dialer::~phone_dialer() { cancel(); }

void phone_dialer::cancel() {
  if (current_) current_->cancel();
  current_.reset();
}

namespace {
plist_t list_request() {
  plist_t req = plist_new_dict();
  plist_dict_set_item(req, "MessageType", plist_new_string("ListDevices"));
  return req;
}
}  // namespace

void phone_dialer::open_port(std::uint16_t port, opened done) {
  cancel();
  current_ = std::make_shared<mux_exchange>(io_, address_, unix_path_);
  current_->run(
      endpoint_, list_request(), [this, port, done](proto::plist_ptr r, const cli_error* e) {
        if (e != nullptr) return done(std::nullopt, e);
        try {
          chosen_ = choose_phone(phones_from_reply(r.get()), udid_);
        } catch (const cli_error& bad) {
          return done(std::nullopt, &bad);
        }
        current_ = std::make_shared<mux_exchange>(io_, address_, unix_path_);
        current_->run(endpoint_, connect_request(chosen_, port),
                      [this, port, done](proto::plist_ptr reply, const cli_error* e2) {
                        if (e2 != nullptr) return done(std::nullopt, e2);
                        try {
                          check_connect_result(result_number(reply.get()), chosen_.udid, port);
                        } catch (const cli_error& bad) {
                          return done(std::nullopt, &bad);
                        }
                        auto s = current_->take_socket();
                        current_.reset();
                        done(std::move(s), nullptr);
                      });
      });
}

void phone_dialer::still_listed(std::function<void(std::optional<bool>)> done) {
  cancel();
  current_ = std::make_shared<mux_exchange>(io_, address_, unix_path_);
  current_->run(endpoint_, list_request(), [this, done](proto::plist_ptr r, const cli_error* e) {
    current_.reset();
    if (e != nullptr) return done(std::nullopt);
    try {
      const auto phones = phones_from_reply(r.get());
      done(std::any_of(phones.begin(), phones.end(),
                       [&](const phone& p) { return p.udid == chosen_.udid; }));
    } catch (const cli_error&) {
      done(std::nullopt);
    }
  });
}

}  // namespace tether::cli
