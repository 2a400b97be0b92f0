#pragma once
// Going to the background the way init scripts expect: the starting process waits
// until the daemon is serving (or has failed) and exits with that status, printing the
// reason for a failure, so `tetherd && echo ok` means the socket is there.
#include <optional>
#include <string>

namespace tether::daemon {

class startup_reporter {
 public:
  // Forks. The parent waits for the child's verdict and gets its exit status back;
  // the child gets nullopt and carries on.
  std::optional<int> daemonize();
  // Logs `error`, passes it to a waiting parent, and returns tetherd's exit status (1).
  int fail(const std::string& error);
  // Start-up went well: the parent may exit 0.
  void succeed();
  // Nothing to do (another tetherd serves): the parent exits 0, and so do we.
  int succeed_and_exit();

 private:
  void report(char status, const std::string& text);
  int fd_ = -1;
};

}  // namespace tether::daemon
