#include "daemon/privileges.hpp"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/log.hpp"
#include "daemon/errc.hpp"

namespace tether::daemon {

base::result<void> drop_privileges(const std::string& user,
                                   const std::vector<std::string>& writable_dirs) {
  if (::getuid() != 0 && ::geteuid() != 0) {
    log::info("not running as root: keeping user " + std::to_string(::getuid()) + " (--user " +
              user + " ignored)");
    return {};
  }
  const passwd* pw = ::getpwnam(user.c_str());
  if (pw == nullptr) {
    return {daemon_errc::unknown_user,
            "no user named '" + user + "' (create it, or change --user)"};
  }
  if (pw->pw_uid == 0) return {};
  for (const auto& dir : writable_dirs) {
    struct stat st {};
    if (::stat(dir.c_str(), &st) == 0 && (st.st_uid != pw->pw_uid || st.st_gid != pw->pw_gid))
      (void)::chown(dir.c_str(), pw->pw_uid, pw->pw_gid);
  }
  if (::initgroups(user.c_str(), pw->pw_gid) != 0 || ::setgid(pw->pw_gid) != 0 ||
      ::setuid(pw->pw_uid) != 0) {
    return {errno_code(), "cannot become user '" + user + "': " + std::strerror(errno)};
  }
  if (::setuid(0) == 0) {  // must be impossible now
    return {daemon_errc::privileges_kept,
            "still able to regain root after dropping to '" + user + "'"};
  }
  log::info("running as user " + user);
  return {};
}

}  // namespace tether::daemon
