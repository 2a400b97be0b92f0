#include "tools/cli/fd_io.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace tether::cli {
namespace {

template <class Io, class Byte>
bool whole(std::span<Byte> data, Io io) {
  while (!data.empty()) {
    const ssize_t n = io(data);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data = data.subspan(static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace

bool send_all(int fd, std::span<const std::byte> data) {
  return whole(data, [fd](auto d) { return ::send(fd, d.data(), d.size(), MSG_NOSIGNAL); });
}

bool write_all(int fd, std::span<const std::byte> data) {
  return whole(data, [fd](auto d) { return ::write(fd, d.data(), d.size()); });
}

bool read_exact(int fd, std::span<std::byte> out) {
  return whole(out, [fd](auto d) { return ::recv(fd, d.data(), d.size(), 0); });
}

}  // namespace tether::cli
