#include "tools/cli/mux_client.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "tools/cli/cli_error.hpp"

namespace tether::cli {

std::string daemon_address(const std::string& from_option) {
  if (!from_option.empty()) return from_option;
  if (const char* env = std::getenv("USBMUXD_SOCKET_ADDRESS"); env != nullptr && env[0] != '\0')
    return env;
  return "/var/run/usbmuxd";
}

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
  error = std::strerror(errno);
  if (fd >= 0) ::close(fd);
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

bool write_all(int fd, const std::byte* p, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

}  // namespace

mux_client::mux_client(const std::string& address) : address_(address) {
  std::string error;
  std::string where = address;
  if (where.rfind("UNIX:", 0) == 0) where = where.substr(5);
  if (where.find('/') != std::string::npos) {
    fd_ = connect_unix(where, error);
  } else if (const auto colon = where.rfind(':'); colon != std::string::npos) {
    fd_ = connect_tcp(where.substr(0, colon), where.substr(colon + 1), error);
  } else {
    error = "not a path or HOST:PORT";
  }
  if (fd_ < 0)
    throw cli_error(no_daemon, "cannot reach the usbmuxd socket " + address + ": " + error +
                                   " (is tetherd or usbmuxd running? --socket or "
                                   "USBMUXD_SOCKET_ADDRESS choose another)");
}

mux_client::~mux_client() {
  if (fd_ >= 0) ::close(fd_);
}

int mux_client::release() {
  const int fd = fd_;
  fd_ = -1;
  return fd;
}

// Frees `dict` (encode_plist owns what it frames).
void mux_client::send(plist_t dict) {
  plist_dict_set_item(dict, "ProgName", plist_new_string("tether"));
  plist_dict_set_item(dict, "ClientVersionString", plist_new_string("tether " TETHER_VERSION));
  plist_dict_set_item(dict, "kLibUSBMuxVersion", plist_new_uint(3));
  const auto message = proto::usbmuxd::encode_plist(++tag_, dict);
  if (!write_all(fd_, message.data(), message.size()))
    throw cli_error(no_daemon, "lost the connection to " + address_ + ": " + std::strerror(errno));
}

namespace {

// Reads exactly n bytes; false at end of stream.
bool read_exact(int fd, std::byte* out, std::size_t n) {
  while (n > 0) {
    const ssize_t got = ::recv(fd, out, n, 0);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return false;
    out += got;
    n -= static_cast<std::size_t>(got);
  }
  return true;
}

}  // namespace

proto::plist_ptr mux_client::next_message() {
  for (;;) {
    if (auto m = reader_.next()) {
      plist_t root = nullptr;
      plist_from_memory(reinterpret_cast<const char*>(m->body.data()),
                        static_cast<std::uint32_t>(m->body.size()), &root);
      if (root == nullptr || plist_get_node_type(root) != PLIST_DICT) {
        if (root != nullptr) plist_free(root);
        throw cli_error(failed, "the daemon sent a message that is not a plist dictionary");
      }
      return proto::plist_ptr(root);
    }
    // Exactly one message, header then body: after a Connect succeeds, the phone's first
    // bytes may follow the reply at once, and they must stay in the socket.
    std::array<std::byte, proto::usbmuxd::header_size> header;
    if (!read_exact(fd_, header.data(), header.size())) return nullptr;
    if (auto ec = reader_.feed(header))
      throw cli_error(failed, "the daemon's reply cannot be read: " + ec.message());
    const std::uint32_t length =
        static_cast<std::uint32_t>(header[0]) | static_cast<std::uint32_t>(header[1]) << 8 |
        static_cast<std::uint32_t>(header[2]) << 16 | static_cast<std::uint32_t>(header[3]) << 24;
    if (length < header.size() || length > proto::usbmuxd::max_message)
      throw cli_error(failed, "the daemon's reply cannot be read: a message of " +
                                  std::to_string(length) + " bytes");
    std::vector<std::byte> body(length - header.size());
    if (!read_exact(fd_, body.data(), body.size())) return nullptr;
    if (auto ec = reader_.feed(body))
      throw cli_error(failed, "the daemon's reply cannot be read: " + ec.message());
  }
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
