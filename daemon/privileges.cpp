#include "daemon/privileges.hpp"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/log.hpp"

namespace tether::daemon {

bool drop_privileges(const std::string& user, const std::vector<std::string>& writable_dirs,
                     std::string& error) {
  if (::getuid() != 0 && ::geteuid() != 0) {
    log::info("not running as root: keeping user " + std::to_string(::getuid()) + " (--user " +
              user + " ignored)");
    return true;
  }
  const passwd* pw = ::getpwnam(user.c_str());
  if (pw == nullptr) {
    error = "no user named '" + user + "' (create it, or change --user)";
    return false;
  }
  if (pw->pw_uid == 0) return true;
  for (const auto& dir : writable_dirs) {
    struct stat st {};
    if (::stat(dir.c_str(), &st) == 0 && (st.st_uid != pw->pw_uid || st.st_gid != pw->pw_gid))
      (void)::chown(dir.c_str(), pw->pw_uid, pw->pw_gid);
  }
  if (::initgroups(user.c_str(), pw->pw_gid) != 0 || ::setgid(pw->pw_gid) != 0 ||
      ::setuid(pw->pw_uid) != 0) {
    error = "cannot become user '" + user + "': " + std::strerror(errno);
    return false;
  }
  if (::setuid(0) == 0) {  // must be impossible now
    error = "still able to regain root after dropping to '" + user + "'";
    return false;
  }
  log::info("running as user " + user);
  return true;
}

}  // namespace tether::daemon
