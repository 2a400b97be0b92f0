#pragma once
// One tetherd at a time: the pid file is also a lock (fcntl), as with usbmuxd, so a
// stale file left by a crash never blocks a start, and a second tetherd can find the
// running one to poke (SIGUSR2), ask to exit when idle (SIGUSR1) or stop (SIGTERM).
#include <sys/types.h>

#include <string>

#include "base/result.hpp"

namespace tether::daemon {

class instance_lock {
 public:
  instance_lock() = default;
  ~instance_lock();
  instance_lock(const instance_lock&) = delete;
  instance_lock& operator=(const instance_lock&) = delete;

  // Takes the lock and writes our pid. Returns 0 on success, or the pid of the
  // running instance (> 0); an error (errno's code, the path in the detail) otherwise.
  base::result<pid_t> acquire(const std::string& path);
  // The pid of the instance holding the lock, 0 when none.
  static base::result<pid_t> holder(const std::string& path);
  // Lets another tetherd start (this one is stopping).
  void release();

 private:
  int fd_ = -1;
};

}  // namespace tether::daemon
