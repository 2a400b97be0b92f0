#include "daemon/socket_activation.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <cstring>

#include "daemon/errc.hpp"

namespace tether::daemon {
namespace {

constexpr int first_passed_fd = 3;  // SD_LISTEN_FDS_START

std::optional<long> whole_number(const char* s) {
  if (s == nullptr || *s == '\0') return std::nullopt;
  long n = 0;
  const char* end = s + std::strlen(s);
  auto [p, ec] = std::from_chars(s, end, n);
  if (ec != std::errc() || p != end || n < 0) return std::nullopt;
  return n;
}

}  // namespace

base::result<int> passed_socket_count(const char* listen_pid, const char* listen_fds, long self) {
  if (listen_pid == nullptr || listen_fds == nullptr) return 0;
  const auto pid = whole_number(listen_pid);
  if (!pid)
    return {daemon_errc::bad_activation,
            "LISTEN_PID is not a process id: '" + std::string(listen_pid) + "'"};
  if (*pid != self) return 0;
  const auto fds = whole_number(listen_fds);
  if (!fds || *fds > 64)
    return {daemon_errc::bad_activation,
            "LISTEN_FDS is not a small count of sockets: '" + std::string(listen_fds) + "'"};
  return static_cast<int>(*fds);
}

base::result<std::optional<int>> systemd_socket() {
  auto count = passed_socket_count(std::getenv("LISTEN_PID"), std::getenv("LISTEN_FDS"),
                                   static_cast<long>(::getpid()));
  ::unsetenv("LISTEN_PID");
  ::unsetenv("LISTEN_FDS");
  ::unsetenv("LISTEN_FDNAMES");
  if (!count) return {count.error(), "socket activation: " + count.describe()};
  const int n = *count;
  if (n == 0) return std::optional<int>();
  for (int fd = first_passed_fd; fd < first_passed_fd + n; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  if (n != 1) {
    return {daemon_errc::bad_activation,
            "systemd passed " + std::to_string(n) +
                " sockets; tetherd serves one (a single ListenStream= in tetherd.socket)"};
  }
  const int fd = first_passed_fd;
  int type = 0, listening = 0;
  socklen_t len = sizeof type;
  const bool stream =
      ::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_STREAM;
  len = sizeof listening;
  const bool accepts =
      stream && ::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0 && listening;
  if (!accepts) {
    return {daemon_errc::bad_activation,
            "the socket systemd passed is not a listening stream socket "
            "(tetherd.socket needs ListenStream=, not ListenDatagram= or Accept=yes)"};
  }
  return std::optional<int>(fd);
}

}  // namespace tether::daemon
