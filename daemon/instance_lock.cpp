#include "daemon/instance_lock.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "daemon/errc.hpp"

namespace tether::daemon {
namespace {

flock whole_file(short type) {
  flock l{};
  l.l_type = type;
  l.l_whence = SEEK_SET;
  return l;
}

}  // namespace

instance_lock::~instance_lock() { release(); }

void instance_lock::release() {
  if (fd_ >= 0) ::close(fd_);  // closing drops the fcntl lock
  fd_ = -1;
}

base::result<pid_t> instance_lock::holder(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return 0;
    return {errno_code(), "cannot open " + path + ": " + std::strerror(errno)};
  }
  flock l = whole_file(F_WRLCK);
  const int r = ::fcntl(fd, F_GETLK, &l);
  const int e = errno;
  ::close(fd);
  if (r != 0) {
    return {errno_code(e), "cannot check the lock on " + path + ": " + std::strerror(e)};
  }
  return l.l_type == F_UNLCK ? 0 : l.l_pid;
}

base::result<pid_t> instance_lock::acquire(const std::string& path) {
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    return {errno_code(), "cannot open the pid file " + path + ": " + std::strerror(errno) +
                              " (choose another with --pidfile, or NONE)"};
  }
  flock l = whole_file(F_WRLCK);
  if (::fcntl(fd_, F_SETLK, &l) != 0) {
    const int e = errno;
    flock who = whole_file(F_WRLCK);
    const bool held =
        (e == EAGAIN || e == EACCES) && ::fcntl(fd_, F_GETLK, &who) == 0 && who.l_type != F_UNLCK;
    ::close(fd_);
    fd_ = -1;
    if (held) return who.l_pid;
    return {errno_code(e), "cannot lock " + path + ": " + std::strerror(e)};
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, pid.data(), pid.size(), 0) < 0) {
    return {errno_code(), "cannot write " + path + ": " + std::strerror(errno)};
  }
  return 0;
}

}  // namespace tether::daemon
