#include "tools/cli/mux_client.hpp"

#include <grp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "tools/cli/cli_error.hpp"
#include "tools/cli/fd_io.hpp"

namespace tether::cli {

namespace {

int connect_unix(const std::string& path, std::string& error) {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.size() >= sizeof sa.sun_path) {
    error = "socket path too long";
    return -1;
  }
  std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd >= 0 && ::connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) == 0) return fd;
  const int err = errno;
  if (fd >= 0) ::close(fd);
  error = unix_connect_error(path, err);
  return -1;
}

int connect_tcp(const std::string& host, const std::string& port, std::string& error) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (const int r = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &res); r != 0) {
    error = ::gai_strerror(r);
    return -1;
  }
  int fd = -1;
  for (addrinfo* a = res; a != nullptr && fd < 0; a = a->ai_next) {
    fd = ::socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && ::connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
      error = std::strerror(errno);
      ::close(fd);
      fd = -1;
    }
  }
  ::freeaddrinfo(res);
  if (fd >= 0) {
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  return fd;
}

}  // namespace

std::string unix_connect_error(const std::string& path, int err) {
  // The socket is there but not ours to use: the fix is group membership, not a daemon.
  struct stat st {};
  if (err == EACCES && ::stat(path.c_str(), &st) == 0) {
    const group* g = ::getgrgid(st.st_gid);
    const std::string name = g != nullptr ? g->gr_name : std::to_string(st.st_gid);
    return "permission denied: the socket is for members of group '" + name +
           "' (add yourself with `sudo usermod -aG " + name + " $USER`, then log in again)";
  }
  return std::strerror(err);
}

cli_error daemon_unreachable(const std::string& address, const std::string& error) {
  if (error.rfind("permission denied:", 0) == 0)
    return cli_error(no_daemon, "cannot use the usbmuxd socket " + address + ": " + error);
  return cli_error(no_daemon, "cannot reach the usbmuxd socket " + address + ": " + error +
                                  " (is tetherd or usbmuxd running? --socket or "
                                  "USBMUXD_SOCKET_ADDRESS choose another)");
}

mux_client::mux_client(const std::string& address) : address_(address) {
  std::string error;
  const auto where = proto::usbmuxd::parse_daemon_address(address);
  if (where) {
    fd_ = where->unix_path.empty() ? connect_tcp(where->host, std::to_string(where->port), error)
                                   : connect_unix(where->unix_path, error);
  } else {
    error = where.describe();
  }
  if (fd_ < 0) throw daemon_unreachable(address, error);
}

mux_client::~mux_client() {
  if (fd_ >= 0) ::close(fd_);
}

int mux_client::release() {
  const int fd = fd_;
  fd_ = -1;
  return fd;
}

// Frees `dict`.
void mux_client::send(plist_t dict) {
  const auto message = proto::usbmuxd::encode_client_request(++tag_, dict, "tether");
  if (!send_all(fd_, message))
    throw cli_error(no_daemon, "lost the connection to " + address_ + ": " + std::strerror(errno));
}

proto::plist_ptr mux_client::next_message() {
  // Exactly one message, header then body: after a Connect succeeds, the phone's first
  // bytes may follow the reply at once, and they must stay in the socket.
  std::array<std::byte, proto::usbmuxd::header_size> header;
  if (!read_exact(fd_, header)) return nullptr;
  const auto length = proto::usbmuxd::message_length(header);
  if (!length) throw cli_error(failed, "the daemon's reply cannot be read: " + length.describe());
  std::vector<std::byte> body(*length - header.size());
  if (!read_exact(fd_, body)) return nullptr;
  auto message = proto::usbmuxd::decode_daemon_message(body);
  if (!message) throw cli_error(failed, "the daemon's reply cannot be read: " + message.describe());
  return std::move(message).value();
}

proto::plist_ptr mux_client::request(plist_t dict) {
  send(dict);  // takes the dictionary
  auto reply = next_message();
  if (!reply) throw cli_error(no_daemon, "the daemon at " + address_ + " hung up");
  return reply;
}

std::uint64_t result_number(plist_t reply) {
  const auto n = proto::uint_item(reply, "Number");
  if (!n) throw cli_error(failed, "the daemon's reply has no result number");
  return *n;
}

}  // namespace tether::cli
