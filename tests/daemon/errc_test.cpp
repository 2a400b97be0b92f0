// daemon_errc: tetherd's own reasons, in their own category.
#include "daemon/errc.hpp"

#include <gtest/gtest.h>

namespace tether::daemon {
namespace {

TEST(DaemonErrc, EachCodeHasItsWordsInItsOwnCategory) {
  const std::error_code e = daemon_errc::remote_refused;
  EXPECT_EQ(e.category(), daemon_category());
  EXPECT_STREQ(e.category().name(), "tether.daemon");
  const std::pair<daemon_errc, const char*> expected[] = {
      {daemon_errc::bad_option, "malformed command line"},
      {daemon_errc::bad_config, "malformed configuration"},
      {daemon_errc::bad_address, "not an address tetherd can listen on"},
      {daemon_errc::bad_value, "malformed value"},
      {daemon_errc::remote_refused, "not a loopback address, and remote access is off"},
      {daemon_errc::in_use, "already in use"},
      {daemon_errc::limit_reached, "a configured limit is reached"},
      {daemon_errc::not_a_socket, "not a socket tetherd can listen on"},
      {daemon_errc::bad_activation, "systemd's socket activation is not usable"},
      {daemon_errc::unknown_user, "no such user or group"},
      {daemon_errc::privileges_kept, "root privileges could not be dropped for good"},
  };
  for (const auto& [code, words] : expected) EXPECT_EQ(make_error_code(code).message(), words);
  EXPECT_EQ(std::error_code(999, daemon_category()).message(), "unknown tetherd error");
  EXPECT_EQ(errno_code(ENOENT), std::errc::no_such_file_or_directory);
}

}  // namespace
}  // namespace tether::daemon
