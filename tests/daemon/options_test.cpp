#include "daemon/options.hpp"

#include "daemon/errc.hpp"

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <vector>

namespace tether::daemon {
namespace {

base::result<options> parse(std::initializer_list<const char*> args) {
  std::vector<std::string> storage{"tetherd"};
  storage.insert(storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : storage) argv.push_back(s.data());
  argv.push_back(nullptr);
  return parse_options(static_cast<int>(storage.size()), argv.data());
}

options ok(std::initializer_list<const char*> args) {
  auto r = parse(args);
  if (!r) ADD_FAILURE() << r.describe();
  return *r;
}

std::string error(std::initializer_list<const char*> args) {
  auto r = parse(args);
  EXPECT_FALSE(r);
  EXPECT_EQ(r.error(), daemon_errc::bad_option);
  return r ? "" : r.describe();
}

TEST(Options, DefaultsMatchUsbmuxdPathsAndDaemonize) {
  const options o = ok({});
  EXPECT_EQ(o.socket, "/var/run/usbmuxd");
  EXPECT_EQ(o.config_dir, "/var/lib/lockdown");
  EXPECT_EQ(o.pidfile, "/var/run/tetherd.pid");
  EXPECT_FALSE(o.foreground);
  EXPECT_FALSE(o.enable_exit);
  EXPECT_EQ(o.what, options::action::serve);
}

TEST(Options, UsbmuxdUnitAndUdevLinesKeepTheirMeaning) {
  // What usbmuxd's systemd unit and udev rules run.
  const options s = ok({"--user", "usbmux", "--systemd"});
  EXPECT_EQ(s.user, "usbmux");
  EXPECT_TRUE(s.foreground);
  EXPECT_TRUE(s.enable_exit);
  const options u = ok({"-U", "usbmux", "-u"});
  EXPECT_TRUE(u.disable_hotplug);
  EXPECT_TRUE(u.enable_exit);
  EXPECT_FALSE(u.foreground);
  EXPECT_EQ(ok({"-x"}).what, options::action::exit_running);
  EXPECT_EQ(ok({"-X"}).what, options::action::force_exit_running);
  EXPECT_EQ(ok({"-f", "-p", "-v", "-v"}).verbose, 2);
}

TEST(Options, OwnLongOptions) {
  const options o = ok({"--tcp", "127.0.0.1:27015", "--exit-when-idle=7", "-g", "plugdev", "-c",
                        "/etc/x.conf", "-P", "NONE", "-S", "/tmp/s", "-l", "/tmp/log"});
  EXPECT_EQ(o.tcp, "127.0.0.1:27015");
  EXPECT_EQ(o.exit_when_idle, std::chrono::seconds(7));
  EXPECT_EQ(o.group, "plugdev");
  EXPECT_EQ(o.config_file, "/etc/x.conf");
  EXPECT_TRUE(o.config_file_given);
  EXPECT_EQ(o.pidfile, "NONE");
  EXPECT_EQ(o.socket, "/tmp/s");
  EXPECT_EQ(o.logfile, "/tmp/log");
  EXPECT_EQ(ok({"--exit-when-idle"}).exit_when_idle, default_idle_grace);
}

TEST(Options, MistakesAreNamed) {
  EXPECT_NE(error({"--bogus"}).find("unknown option '--bogus'"), std::string::npos);
  EXPECT_NE(error({"-S"}).find("-S needs a value"), std::string::npos);
  EXPECT_NE(error({"-S", ""}).find("--socket needs a value"), std::string::npos);
  EXPECT_NE(error({"--user", "-f"}).find("--user needs a value"), std::string::npos);
  EXPECT_NE(error({"-l", "a", "-l", "b"}).find("once"), std::string::npos);
  EXPECT_NE(error({"--exit-when-idle=soon"}).find("seconds"), std::string::npos);
  EXPECT_NE(error({"stray"}).find("unexpected argument 'stray'"), std::string::npos);
}

}  // namespace
}  // namespace tether::daemon
