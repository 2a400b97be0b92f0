#include "daemon/daemonize.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "base/log.hpp"

namespace tether::daemon {

std::optional<int> startup_reporter::daemonize() {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) {
    std::fprintf(stderr, "tetherd: cannot daemonize: %s\n", std::strerror(errno));
    return 1;
  }
  const pid_t child = ::fork();
  if (child < 0) {
    std::fprintf(stderr, "tetherd: cannot daemonize: %s\n", std::strerror(errno));
    return 1;
  }
  if (child > 0) {
    ::close(p[1]);
    std::string verdict;
    char buf[512];
    ssize_t n = 0;
    while ((n = ::read(p[0], buf, sizeof buf)) > 0) verdict.append(buf, static_cast<size_t>(n));
    ::close(p[0]);
    if (verdict.empty()) {
      std::fprintf(stderr, "tetherd: the daemon died while starting\n");
      return 1;
    }
    if (verdict.size() > 1) std::fprintf(stderr, "tetherd: %s\n", verdict.c_str() + 1);
    return verdict[0];
  }
  ::close(p[0]);
  fd_ = p[1];
  ::setsid();
  if (::chdir("/") != 0) { /* "/" always exists */
  }
  const int null = ::open("/dev/null", O_RDWR);
  if (null >= 0) {
    ::dup2(null, STDIN_FILENO);
    ::dup2(null, STDOUT_FILENO);
    if (::fcntl(STDERR_FILENO, F_GETFL) < 0 || ::isatty(STDERR_FILENO)) ::dup2(null, STDERR_FILENO);
    if (null > STDERR_FILENO) ::close(null);
  }
  return std::nullopt;
}

void startup_reporter::report(char status, const std::string& text) {
  if (fd_ < 0) return;
  const std::string msg = std::string(1, status) + text;
  if (::write(fd_, msg.data(), msg.size()) < 0) { /* the parent is gone: nobody to tell */
  }
  ::close(fd_);
  fd_ = -1;
}

int startup_reporter::fail(const std::string& error) {
  log::error(error);
  report(1, error);
  return 1;
}

void startup_reporter::succeed() { report(0, {}); }

int startup_reporter::succeed_and_exit() {
  report(0, {});
  return 0;
}

}  // namespace tether::daemon
