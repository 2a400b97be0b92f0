#include "daemon/config.hpp"

#include <gtest/gtest.h>

#include "daemon/errc.hpp"

namespace tether::daemon {
namespace {

config ok(const std::string& text) {
  auto r = parse_config(text);
  if (!r) ADD_FAILURE() << r.describe();
  return r ? *r : config{};
}

std::string error(const std::string& text) {
  auto r = parse_config(text);
  EXPECT_FALSE(r);
  return r ? "" : r.describe();
}

TEST(Config, EmptyIsDefaults) {
  const config c = ok("");
  EXPECT_FALSE(c.group);
  EXPECT_FALSE(c.allow_remote_forwards);
  EXPECT_EQ(c.forward_give_up_seconds, 30);
  EXPECT_EQ(c.max_clients, 256u);
  EXPECT_TRUE(c.pair_automatically);  // as usbmuxd pairs each phone
  EXPECT_EQ(c.trust_wait_seconds, 180);
  EXPECT_TRUE(c.forwards.empty());
}

TEST(Config, EveryKey) {
  const config c = ok(R"(# a comment
[tetherd]
group = plugdev
user = tether
log-level = debug
allow-remote-forwards = yes
forward-give-up = 5
max-clients = 12
pair = no
trust-wait = 60

[forward ssh]
local = 127.0.0.1:2222 ; inline comment
phone-port = 22
udid = 00008030-001A2B3C4D5E6F70

[forward camera]
local = [::1]:0
phone-port = 5000

[forward plain]
local = 8080
phone-port = 80
)");
  EXPECT_EQ(c.group, "plugdev");
  EXPECT_EQ(c.user, "tether");
  EXPECT_EQ(c.log_level, "debug");
  EXPECT_TRUE(c.allow_remote_forwards);
  EXPECT_EQ(c.forward_give_up_seconds, 5);
  EXPECT_EQ(c.max_clients, 12u);
  EXPECT_FALSE(c.pair_automatically);
  EXPECT_EQ(c.trust_wait_seconds, 60);
  ASSERT_EQ(c.forwards.size(), 3u);  // by name
  EXPECT_EQ(c.forwards[0].name, "camera");
  EXPECT_EQ(c.forwards[0].bind_address, "::1");
  EXPECT_EQ(c.forwards[0].local_port, 0);
  EXPECT_EQ(c.forwards[1].name, "plain");
  EXPECT_EQ(c.forwards[1].bind_address, "127.0.0.1");  // loopback unless told
  EXPECT_EQ(c.forwards[1].local_port, 8080);
  EXPECT_EQ(c.forwards[2].name, "ssh");
  EXPECT_EQ(c.forwards[2].local_port, 2222);
  EXPECT_EQ(c.forwards[2].phone_port, 22);
  EXPECT_EQ(c.forwards[2].udid, "00008030-001A2B3C4D5E6F70");
}

TEST(Config, MistakesNameTheLineAndTheKey) {
  EXPECT_EQ(error("[tetherd]\nlog-level = loud\n"),
            "line 2: [tetherd]: log-level must be error, warn, info or debug");
  EXPECT_EQ(error("\n[forward a]\nphone-port = 0\n"),
            "line 3: [forward a]: phone-port must be 1-65535, not '0'");
  EXPECT_EQ(error("[forward a]\nlocal = 70000\n"),
            "line 2: [forward a]: local must be PORT or ADDRESS:PORT (an IP address), not '70000'");
  EXPECT_EQ(error("[forward a]\nlocal = board.local:80\n"),
            "line 2: [forward a]: local must be PORT or ADDRESS:PORT (an IP address), not "
            "'board.local:80'");
  // Found by fuzz_config: a 193-character udid read back, but saved as "udid = ..." it
  // passed the parser's 200-character line and the saved forward was lost on restart.
  EXPECT_EQ(error("[forward a]\nphone-port = 1\nudid=" + std::string(193, 'a') + "\n"),
            "line 3: [forward a]: udid must be the phone's UDID (hex digits and hyphens, at most "
            "64)");
  EXPECT_EQ(error("[forward a]\nudid = iPhone of Ann\n"),
            "line 2: [forward a]: udid must be the phone's UDID (hex digits and hyphens, at most "
            "64)");
  EXPECT_EQ(error("[forward a]\nlocal = 1\n"), "[forward a]: phone-port is missing");
  EXPECT_EQ(error("[tetherd]\nmax-clients = 0\n"),
            "line 2: [tetherd]: max-clients must be 1 to 65536");
  EXPECT_EQ(error("[tetherd]\npair = maybe\n"),
            "line 2: [tetherd]: pair must be yes (pair each phone that arrives) or no");
  EXPECT_EQ(error("[tetherd]\ntrust-wait = 5\n"),
            "line 2: [tetherd]: trust-wait must be seconds, 10 to 3600");
  EXPECT_EQ(error("[tetherd]\ngroup = a\ngroup = b\n"),
            "line 3: [tetherd]: 'group' is given twice");
  EXPECT_EQ(error("[camera]\nx = 1\n"),
            "line 2: [camera]: unknown section (expected [tetherd], [forward NAME] or [reverse "
            "NAME])");
  EXPECT_EQ(error("[tetherd]\nsocket = /x\n"), "line 2: [tetherd]: unknown key 'socket'");
  // Found by fuzz_config: a section named "[forward ]" gave a nameless forward.
  EXPECT_NE(error("[forward ]\nphone-port = 1\n").find("a forward's name is"), std::string::npos);
  EXPECT_NE(error("[forward a/b]\nphone-port = 1\n").find("a forward's name is"),
            std::string::npos);
  EXPECT_NE(error("[tetherd\n").find("line 1"), std::string::npos);
  EXPECT_EQ(error(std::string("a\0b", 3)), "contains a NUL byte");
  EXPECT_EQ(error(std::string(2 << 20, '#')), "larger than 1 MiB");
}

TEST(Config, ForwardCountIsBounded) {
  std::string text;
  for (std::size_t i = 0; i <= max_config_forwards; ++i)
    text += "[forward f" + std::to_string(i) + "]\nphone-port = 1\n";
  EXPECT_NE(error(text).find("more than 256 forwards"), std::string::npos);
}

TEST(Config, MissingOptionalFileIsEmptyButAGivenOneMustExist) {
  EXPECT_TRUE(load_config("/nonexistent/tetherd.conf", true));
  auto r = load_config("/nonexistent/tetherd.conf", false);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), std::errc::no_such_file_or_directory);
  EXPECT_EQ(r.describe(), "cannot read /nonexistent/tetherd.conf: No such file or directory");
}

// The saved forwards (saved_forwards.hpp) are this format, written by format_forwards.
TEST(Config, FormattedForwardsReadBackTheSame) {
  std::vector<proto::tetherd::forward_spec> in(3);
  in[0] = {.name = "9345",
           .bind_address = "127.0.0.1",
           .local_port = 9345,
           .phone_port = 2345,
           .udid = ""};
  in[1] = {.name = "cam:v6",
           .bind_address = "::1",
           .local_port = 40123,
           .phone_port = 2351,
           .udid = "00008030-001A2B3C4D5E6F70"};
  in[2] = {
      .name = "ssh", .bind_address = "0.0.0.0", .local_port = 2222, .phone_port = 22, .udid = ""};
  auto r = parse_config(format_forwards(in), sections::saved_only);
  ASSERT_TRUE(r) << r.describe();
  const auto& out = r->forwards;
  ASSERT_EQ(out.size(), in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    EXPECT_EQ(out[i].name, in[i].name);
    EXPECT_EQ(out[i].bind_address, in[i].bind_address);
    EXPECT_EQ(out[i].local_port, in[i].local_port);
    EXPECT_EQ(out[i].phone_port, in[i].phone_port);
    EXPECT_EQ(out[i].udid, in[i].udid);
  }
}

TEST(Config, SavedForwardsHoldForwardsOnly) {
  auto r = parse_config("[tetherd]\nuser = root\n", sections::saved_only);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), daemon_errc::bad_config);
  EXPECT_EQ(r.describe(),
            "line 2: [tetherd]: unknown section (expected [forward NAME] or [reverse NAME])");
}

TEST(Config, ReversesReadAndFormattedBackTheSame) {
  auto r = parse_config(
      "[reverse chat]\nphone-port = 12345\nlocal = 12346\n"
      "[reverse api]\nphone-port = 8080\nlocal = [::1]:80\nspares = 4\n"
      "udid = 00008030-001A2B3C4D5E6F70\n");
  ASSERT_TRUE(r) << r.describe();
  ASSERT_EQ(r->reverses.size(), 2u);  // by name
  const auto& api = r->reverses[0];
  const auto& chat = r->reverses[1];
  EXPECT_EQ(api.name, "api");
  EXPECT_EQ(api.local_address, "::1");
  EXPECT_EQ(api.local_port, 80);
  EXPECT_EQ(api.spares, 4u);
  EXPECT_EQ(api.udid, "00008030-001A2B3C4D5E6F70");
  EXPECT_EQ(chat.local_address, "127.0.0.1");  // loopback unless told
  EXPECT_EQ(chat.local_port, 12346);
  EXPECT_EQ(chat.phone_port, 12345);
  EXPECT_EQ(chat.spares, 2u);
  EXPECT_TRUE(chat.udid.empty());

  auto again = parse_config(format_reverses(r->reverses), sections::saved_only);
  ASSERT_TRUE(again) << again.describe();
  ASSERT_EQ(again->reverses.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(again->reverses[i].name, r->reverses[i].name);
    EXPECT_EQ(again->reverses[i].local_address, r->reverses[i].local_address);
    EXPECT_EQ(again->reverses[i].local_port, r->reverses[i].local_port);
    EXPECT_EQ(again->reverses[i].phone_port, r->reverses[i].phone_port);
    EXPECT_EQ(again->reverses[i].spares, r->reverses[i].spares);
    EXPECT_EQ(again->reverses[i].udid, r->reverses[i].udid);
  }
}

TEST(Config, ReverseMistakesNameTheLineAndTheKey) {
  EXPECT_EQ(error("[reverse chat]\nlocal = 12345\n"), "[reverse chat]: phone-port is missing");
  EXPECT_EQ(error("[reverse chat]\nphone-port = 12345\n"),
            "[reverse chat]: local is missing (the board's service, PORT or ADDRESS:PORT)");
  EXPECT_EQ(error("[reverse chat]\nlocal = 0\n"),
            "line 2: [reverse chat]: local must be the board's service, PORT or ADDRESS:PORT "
            "(an IP address), not '0'");
  EXPECT_EQ(error("[reverse chat]\nspares = 9\n"),
            "line 2: [reverse chat]: spares must be 1 to 8, not '9'");
  EXPECT_EQ(
      error("[reverse chat]\nport = 1\n"),
      "line 2: [reverse chat]: unknown key 'port' (expected phone-port, local, udid, spares)");
  EXPECT_NE(error("[reverse a b]\nphone-port = 1\n").find("a reverse's name is"),
            std::string::npos);
}

}  // namespace
}  // namespace tether::daemon
