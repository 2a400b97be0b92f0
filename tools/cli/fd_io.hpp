#pragma once
// Whole writes and exact reads on blocking file descriptors, retried on EINTR: the CLI's
// sockets and its standard output.
#include <cstddef>
#include <span>

namespace tether::cli {

// All of `data` to a socket, without SIGPIPE if the peer has gone; false if it went.
bool send_all(int fd, std::span<const std::byte> data);
// All of `data` to any descriptor (standard output); false on an error.
bool write_all(int fd, std::span<const std::byte> data);
// Exactly `out.size()` bytes; false at end of stream or on an error.
bool read_exact(int fd, std::span<std::byte> out);

}  // namespace tether::cli
