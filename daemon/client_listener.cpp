#include "daemon/client_listener.hpp"

#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

#include "base/log.hpp"
#include "daemon/client_session.hpp"
#include "daemon/errc.hpp"

namespace tether::daemon {

std::size_t client_listener::clients() const {
  return static_cast<std::size_t>(std::count_if(sessions_.begin(), sessions_.end(),
                                                [](const auto& w) { return !w.expired(); }));
}

bool split_address_port(const std::string& s, std::string& address, std::uint16_t& port) {
  const auto colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  address = s.substr(0, colon);
  if (address.size() >= 2 && address.front() == '[' && address.back() == ']')
    address = address.substr(1, address.size() - 2);
  unsigned p = 0;
  const char* first = s.data() + colon + 1;
  const char* last = s.data() + s.size();
  auto [end, ec] = std::from_chars(first, last, p);
  if (ec != std::errc() || end != last || first == last || p > 65535) return false;
  port = static_cast<std::uint16_t>(p);
  return true;
}

base::result<void> client_listener::listen_unix(const std::string& path, const std::string& group) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return {daemon_errc::not_a_socket, path + " exists and is not a socket: not replacing it"};
    }
    asio::local::stream_protocol::socket probe(io_);
    std::error_code ec;
    probe.connect(asio::local::stream_protocol::endpoint(path), ec);
    if (!ec) {
      return {daemon_errc::in_use,
              "another daemon is serving " + path + " (usbmuxd?): stop it first"};
    }
    ::unlink(path.c_str());  // left behind by a daemon that is gone
  }
  unix_.emplace(io_);
  std::error_code ec;
  unix_->open(asio::local::stream_protocol(), ec);
  if (!ec) unix_->bind(asio::local::stream_protocol::endpoint(path), ec);
  if (!ec) unix_->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    unix_.reset();
    return {ec, "cannot listen on " + path + ": " + ec.message() + " (does the directory exist?)"};
  }
  unix_path_ = path;
  // Only the owner and one group may talk to the phones, not every local user.
  ::chmod(path.c_str(), 0660);
  if (!group.empty()) {
    const ::group* g = ::getgrnam(group.c_str());
    if (g == nullptr || ::chown(path.c_str(), static_cast<uid_t>(-1), g->gr_gid) != 0) {
      if (g == nullptr)
        return {daemon_errc::unknown_user,
                "cannot give " + path + " to group '" + group + "': no such group"};
      return {errno_code(),
              "cannot give " + path + " to group '" + group + "': " + std::strerror(errno)};
    }
  }
  accept_unix();
  return {};
}

base::result<void> client_listener::listen_tcp(const std::string& address_port, bool allow_remote) {
  std::string host;
  std::uint16_t port = 0;
  if (!split_address_port(address_port, host, port)) {
    return {daemon_errc::bad_address, "'" + address_port + "' is not ADDRESS:PORT"};
  }
  std::error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  if (ec) {
    return {daemon_errc::bad_address, "'" + host + "' is not an IP address"};
  }
  if (!address.is_loopback() && !allow_remote) {
    return {daemon_errc::remote_refused,
            "tetherd listens on loopback only (" + host +
                " would let the network reach the phones); set allow-remote = yes in "
                "tetherd.conf to allow it"};
  }
  const asio::ip::tcp::endpoint at(address, port);
  tcp_.emplace(io_);
  tcp_->open(at.protocol(), ec);
  if (!ec) tcp_->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) tcp_->bind(at, ec);
  if (!ec) tcp_->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    tcp_.reset();
    return {ec, "cannot listen on " + address_port + ": " + ec.message()};
  }
  tcp_where_ = address_port;
  accept_tcp();
  return {};
}

base::result<void> client_listener::adopt(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  std::error_code ec;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    return {errno_code(),
            std::string("cannot inspect the socket from systemd: ") + std::strerror(errno)};
  }
  if (ss.ss_family == AF_UNIX) {
    const auto& un = reinterpret_cast<const sockaddr_un&>(ss);
    unix_.emplace(io_);
    unix_->assign(asio::local::stream_protocol(), fd, ec);
    unix_path_ = un.sun_path[0] != '\0' ? un.sun_path : "an abstract unix socket";
  } else if (ss.ss_family == AF_INET || ss.ss_family == AF_INET6) {
    tcp_.emplace(io_);
    tcp_->assign(ss.ss_family == AF_INET ? asio::ip::tcp::v4() : asio::ip::tcp::v6(), fd, ec);
    tcp_where_ = tcp_->local_endpoint(ec).address().to_string() + ":" +
                 std::to_string(tcp_->local_endpoint(ec).port());
  } else {
    return {daemon_errc::not_a_socket,
            "the socket from systemd is neither a unix nor a TCP socket"};
  }
  if (ec) {
    return {ec, "cannot serve the socket from systemd: " + ec.message()};
  }
  adopted_ = true;
  if (unix_) accept_unix();
  if (tcp_) accept_tcp();
  return {};
}

std::string client_listener::describe() const {
  std::string s = unix_path_;
  if (!tcp_where_.empty()) s += (s.empty() ? "" : " and ") + tcp_where_;
  return adopted_ ? s + " (socket from systemd)" : s;
}

void client_listener::accept_unix() {
  unix_->async_accept([this](std::error_code ec, asio::local::stream_protocol::socket s) {
    if (ec == asio::error::operation_aborted || !unix_ || !unix_->is_open()) return;
    if (!ec) {
      serve(client_session::socket_type(std::move(s)));
    } else {
      // Out of descriptors, most likely: pause rather than spin on the failing accept.
      log::warn("accepting a client failed: " + ec.message() + "; retrying in 100 ms");
      return pause([this] { accept_unix(); });
    }
    accept_unix();
  });
}

void client_listener::accept_tcp() {
  tcp_->async_accept([this](std::error_code ec, asio::ip::tcp::socket s) {
    if (ec == asio::error::operation_aborted || !tcp_ || !tcp_->is_open()) return;
    if (!ec) {
      s.set_option(asio::ip::tcp::no_delay(true), ec);
      serve(client_session::socket_type(std::move(s)));
    } else {
      // Out of descriptors, most likely: pause rather than spin on the failing accept.
      log::warn("accepting a client failed: " + ec.message() + "; retrying in 100 ms");
      return pause([this] { accept_tcp(); });
    }
    accept_tcp();
  });
}

void client_listener::serve(asio::generic::stream_protocol::socket s) {
  std::erase_if(sessions_, [](const auto& w) { return w.expired(); });
  auto session = std::make_shared<client_session>(std::move(s), ctx_, next_client_++);
  if (sessions_.size() >= ctx_.limits.max_clients) {
    const std::string why = "tetherd serves at most " + std::to_string(ctx_.limits.max_clients) +
                            " clients at once: try again when one leaves";
    // Once, then in the repeat limiter's summaries: a flood must not flood the log.
    if (auto line = ctx_.repeats.note("client cap", why, std::chrono::steady_clock::now()))
      log::warn("refused a client: " + *line);
    return session->refuse(why);
  }
  sessions_.push_back(session);
  session->start();
}

void client_listener::close_clients() {
  for (const auto& w : std::exchange(sessions_, {}))
    if (auto session = w.lock()) session->close();
}

void client_listener::pause(std::function<void()> then) {
  backoff_.expires_after(std::chrono::milliseconds(100));
  backoff_.async_wait([then = std::move(then)](std::error_code ec) {
    if (!ec) then();
  });
}

void client_listener::close() {
  backoff_.cancel();
  std::error_code ignored;
  if (unix_) {
    unix_->close(ignored);
    unix_.reset();
    // As tether, in root's /run, this fails; the service manager removes the socket then
    // (the init script's stop). systemd's socket stays, to start the next tetherd.
    if (!adopted_ && ::unlink(unix_path_.c_str()) != 0 && errno != ENOENT)
      log::info("cannot remove " + unix_path_ + " (" + std::strerror(errno) +
                "): left for the service manager to remove");
  }
  if (tcp_) {
    tcp_->close(ignored);
    tcp_.reset();
  }
}

}  // namespace tether::daemon
