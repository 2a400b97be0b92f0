// tether connect PORT: standard input and output joined to a port on the phone, like
// inetcat or `nc`. After standard input ends, replies are still read until the phone
// has been quiet for the linger time (a usbmux connection cannot be half-closed).
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <span>

#include "tools/cli/cli_error.hpp"
#include "tools/cli/commands.hpp"
#include "tools/cli/fd_io.hpp"
#include "tools/cli/phone_port.hpp"

namespace tether::cli {

int run_connect(const global_options& o, std::uint16_t port, std::chrono::milliseconds linger) {
  const int sock = open_phone_port(o.socket, o.udid, port);
  char buf[65536];
  bool input_open = true;
  for (;;) {
    pollfd fds[2] = {{sock, POLLIN, 0}, {STDIN_FILENO, POLLIN, 0}};
    const int timeout = input_open ? -1 : static_cast<int>(linger.count());
    const int r = ::poll(fds, input_open ? 2 : 1, timeout);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) throw cli_error(failed, std::string("poll: ") + std::strerror(errno));
    if (r == 0) break;  // input done and the phone quiet for the linger time
    if (fds[0].revents != 0) {
      const ssize_t n = ::recv(sock, buf, sizeof buf, 0);
      if (n <= 0) break;  // the phone (or the daemon) closed the connection
      if (!write_all(STDOUT_FILENO, std::as_bytes(std::span(buf, static_cast<std::size_t>(n)))))
        break;
    }
    if (input_open && fds[1].revents != 0) {
      const ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
      if (n <= 0) {
        input_open = false;
        continue;
      }
      if (!send_all(sock, std::as_bytes(std::span(buf, static_cast<std::size_t>(n)))))
        throw cli_error(failed, "the connection to the phone broke");
    }
  }
  ::close(sock);
  return ok;
}

}  // namespace tether::cli
