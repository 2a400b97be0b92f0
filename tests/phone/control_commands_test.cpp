#include "phone/control_commands.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "phone/app_options.hpp"
#include "phone/lockdown_responder.hpp"

namespace tether::sim {
namespace {

// Records what the interpreter asked of it.
class fake_phone final : public phone_controls {
 public:
  std::string udid() const override { return "00008120-7E7E000000000000"; }
  bool plugged() const override { return plugged_; }
  bool plug(std::string& error) override {
    calls.push_back("plug");
    if (refuse_plug) error = "no UDC";
    plugged_ = !refuse_plug;
    return !refuse_plug;
  }
  void unplug() override {
    calls.push_back("unplug");
    plugged_ = false;
  }
  void stall(bool in) override { calls.push_back(in ? "stall in" : "stall out"); }
  void set_delay(std::chrono::milliseconds ms) override {
    calls.push_back("delay " + std::to_string(ms.count()));
  }
  void drop() override { calls.push_back("drop"); }
  void inject_garbage() override { calls.push_back("garbage"); }
  void reset_connections() override { calls.push_back("reset"); }
  void inject_stale_packet(std::uint16_t port, std::uint16_t host_port) override {
    calls.push_back("stale " + std::to_string(port) + " " + std::to_string(host_port));
  }
  void set_version_muted(bool muted) override { calls.push_back(muted ? "mute" : "unmute"); }
  std::string stats() override { return "packets=3"; }
  bool set_app_state(std::uint16_t port, app_state s, std::string& error) override {
    const char* names[] = {"running", "suspended", "killed"};
    calls.push_back("app " + std::to_string(port) + " " + names[static_cast<int>(s)]);
    if (port == 9999) error = "no app listens on port 9999 of phone 00008120-7E7E000000000000";
    return port != 9999;
  }
  void set_lock(lock_mode m) override {
    calls.push_back(m == lock_mode::unlocked ? "unlock"
                    : m == lock_mode::hidden ? "lock hidden"
                                             : "lock");
  }
  void set_control_texts(bool on) override { calls.push_back(on ? "texts on" : "texts off"); }
  void send_version() override { calls.push_back("version"); }
  bool reenumerate(std::string&) override {
    calls.push_back("reenumerate");
    return true;
  }
  void set_stale_order(stale_order o) override {
    calls.push_back(o == stale_order::before  ? "restart-stale before"
                    : o == stale_order::after ? "restart-stale after"
                                              : "restart-stale none");
  }

  void with_trust(const std::function<void(phone_trust&)>& f) override { f(trust); }

  std::vector<std::string> calls;
  bool refuse_plug = false;
  phone_trust::clock::time_point now{};
  phone_trust trust{[this] { return now; }};

 private:
  bool plugged_ = true;
};

class ControlCommands : public ::testing::Test {
 protected:
  std::string run(const std::string& line) {
    phone_controls* phones[] = {&phone};
    return run_phone_command(line, phones, [this](const std::string& s) { done.push_back(s); });
  }
  fake_phone phone;
  std::vector<std::string> done;
};

TEST_F(ControlCommands, ListShowsEachPhoneAndItsState) {
  EXPECT_EQ(run("list"), "1 00008120-7E7E000000000000 plugged\nok\n");
  phone.unplug();
  EXPECT_EQ(run("list"), "1 00008120-7E7E000000000000 unplugged\nok\n");
}

TEST_F(ControlCommands, EachCommandReachesThePhone) {
  for (const char* line :
       {"unplug 1", "plug 1", "replug 1", "stall 1 in", "stall 1 out", "delay 1 50", "drop 1",
        "garbage 1", "reset 1", "stale 1", "mute 1", "unmute 1"})
    EXPECT_EQ(run(line), "ok\n") << line;
  const std::vector<std::string> want = {
      "unplug",  "plug",  "unplug",           "plug", "stall in", "stall out", "delay 50", "drop",
      "garbage", "reset", "stale 2345 65278", "mute", "unmute"};
  EXPECT_EQ(phone.calls, want);
  ASSERT_EQ(done.size(), 12u);
  EXPECT_EQ(done[0], "phone 1 00008120-7E7E000000000000: unplug");
}

TEST_F(ControlCommands, RealPhoneBehavioursReachThePhone) {
  for (const char* line : {"lock 1", "lock 1 hidden", "unlock 1", "texts 1 on", "texts 1 off",
                           "restart-stale 1 before", "restart-stale 1 after",
                           "restart-stale 1 none", "version 1", "reenumerate 1"})
    EXPECT_EQ(run(line), "ok\n") << line;
  const std::vector<std::string> want = {"lock",
                                         "lock hidden",
                                         "unlock",
                                         "texts on",
                                         "texts off",
                                         "restart-stale before",
                                         "restart-stale after",
                                         "restart-stale none",
                                         "version",
                                         "reenumerate"};
  EXPECT_EQ(phone.calls, want);
  EXPECT_EQ(run("lock 1 tight"),
            "error: 'lock N', 'lock N hidden' (USB Restricted Mode: off the bus) or 'lock N "
            "passcode' (the screen locked: Pair answers PasswordProtected)\n");
  EXPECT_EQ(run("texts 1"), "error: 'texts N on' or 'texts N off'\n");
  EXPECT_EQ(run("restart-stale 1 sometimes").rfind("error: 'restart-stale N before|after|none'", 0),
            0u);
  EXPECT_EQ(phone.calls.size(), want.size()) << "a refused command changes nothing";
}

TEST_F(ControlCommands, TrustAnswersTheDialogInWords) {
  const std::string no_dialog =
      "error: no Trust dialog is up on the phone (a host's Pair raises it)\n";
  EXPECT_EQ(run("trust accept 1"), no_dialog);
  EXPECT_EQ(run("trust deny 1"), no_dialog);
  ASSERT_EQ(phone.trust.pair("HOST-A", {}), "PairingDialogResponsePending");
  phone.now += std::chrono::milliseconds(2500);
  EXPECT_EQ(run("trust status 1"), "dialog up for 2.5 s, 0 hosts trusted, unlocked\nok\n");
  EXPECT_EQ(run("trust accept 1"), "ok\n");
  EXPECT_EQ(phone.trust.pair("HOST-B", {}), std::nullopt);
  EXPECT_EQ(done.back(), "phone 1 00008120-7E7E000000000000: trust accept");
  // Don't Trust sticks until the cable is pulled.
  ASSERT_EQ(phone.trust.pair("HOST-C", {}), "PairingDialogResponsePending");
  EXPECT_EQ(run("trust deny 1"), "ok\n");
  EXPECT_EQ(phone.trust.pair("HOST-C", {}), "UserDeniedPairing");
  EXPECT_EQ(run("replug 1"), "ok\n");
  EXPECT_EQ(phone.trust.pair("HOST-C", {}), "PairingDialogResponsePending");
  EXPECT_EQ(run("trust forget 1"), "ok\n");
  EXPECT_EQ(phone.trust.host("HOST-B"), nullptr);
  EXPECT_TRUE(phone.calls == std::vector<std::string>({"unplug", "plug"})) << "no re-enumeration";
}

TEST_F(ControlCommands, TrustCanReenumerateAndAcceptByItself) {
  EXPECT_EQ(run("trust reenumerate 1 on"), "ok\n");
  ASSERT_EQ(phone.trust.pair("HOST-A", {}), "PairingDialogResponsePending");
  EXPECT_EQ(run("trust accept 1"), "ok\n");
  EXPECT_EQ(phone.calls, std::vector<std::string>{"reenumerate"});
  EXPECT_EQ(phone.trust.pair("HOST-A", {}), std::nullopt) << "the next Pair succeeds at once";
  // The timer accepts once the dialog has been up long enough, and re-enumerates.
  EXPECT_EQ(run("trust auto 1 5"), "ok\n");
  ASSERT_EQ(phone.trust.pair("HOST-B", {}), "PairingDialogResponsePending");
  phone_controls* phones[] = {&phone};
  std::vector<std::string> timers;
  auto hear = [&timers](const std::string& s) { timers.push_back(s); };
  phone.now += std::chrono::seconds(4);
  run_trust_timers(phones, hear);
  EXPECT_TRUE(timers.empty());
  phone.now += std::chrono::seconds(1);
  run_trust_timers(phones, hear);
  EXPECT_EQ(timers,
            std::vector<std::string>{"phone 1 00008120-7E7E000000000000: trusted automatically"});
  EXPECT_EQ(phone.calls, (std::vector<std::string>{"reenumerate", "reenumerate"}));
  EXPECT_EQ(run("trust status 1"),
            "dialog accepted (the next Pair succeeds), 1 host trusted, unlocked, auto-accept "
            "after 5 s, re-enumerates on Trust\nok\n");
  EXPECT_EQ(run("trust auto 1 off"), "ok\n");
  EXPECT_EQ(run("trust reenumerate 1 off"), "ok\n");
}

TEST_F(ControlCommands, PasscodeLockKeepsTheMuxAndRefusesPairing) {
  EXPECT_EQ(run("lock 1 passcode"), "ok\n");
  EXPECT_TRUE(phone.calls.empty()) << "the mux works on";
  EXPECT_EQ(phone.trust.pair("HOST-A", {}), "PasswordProtected");
  EXPECT_EQ(run("trust status 1"), "no dialog, 0 hosts trusted, locked with a passcode\nok\n");
  EXPECT_EQ(run("unlock 1"), "ok\n");
  EXPECT_EQ(phone.trust.pair("HOST-A", {}), "PairingDialogResponsePending");
}

TEST_F(ControlCommands, TrustUsageErrorsSayWhatIsWanted) {
  const std::string usage =
      "error: 'trust accept|deny|forget|status N', 'trust auto N SECONDS|off' or 'trust "
      "reenumerate N on|off'\n";
  EXPECT_EQ(run("trust wave 1"), usage);
  EXPECT_EQ(run("trust accept 1 now"), usage);
  EXPECT_EQ(run("trust accept 2"), "error: say which phone, 1 to 1 (e.g. 'trust accept 1')\n");
  EXPECT_EQ(run("trust auto 1 soon"),
            "error: 'trust auto N SECONDS' (0: no dialog at all) or 'trust auto N off'\n");
  EXPECT_EQ(run("trust reenumerate 1"), "error: 'trust reenumerate N on|off'\n");
  EXPECT_TRUE(done.empty());
}

TEST_F(ControlCommands, StatsIsOneLineThenOk) {
  EXPECT_EQ(run("stats 1"), "packets=3\nok\n");
  EXPECT_TRUE(done.empty()) << "a look inside changes nothing";
}

TEST_F(ControlCommands, ErrorsSayWhatIsWanted) {
  EXPECT_EQ(run("unplug"), "error: say which phone, 1 to 1 (e.g. 'unplug 1')\n");
  EXPECT_EQ(run("unplug 2"), "error: say which phone, 1 to 1 (e.g. 'unplug 1')\n");
  EXPECT_EQ(run("stall 1 sideways"), "error: say which endpoint: 'stall N in' or 'stall N out'\n");
  EXPECT_EQ(run("delay 1 soon"), "error: 'delay N MS' takes milliseconds, e.g. 'delay 1 50'\n");
  const std::string unknown = run("wiggle 1");
  EXPECT_EQ(unknown.rfind("error: unknown command 'wiggle' (list, plug N,", 0), 0u) << unknown;
  EXPECT_NE(unknown.find("app suspend|resume|kill PORT [N], lock N [hidden|passcode], unlock N"),
            std::string::npos)
      << unknown;
  phone.refuse_plug = true;
  EXPECT_EQ(run("plug 1"), "error: no UDC\n");
  EXPECT_TRUE(phone.calls.size() == 1 && done.empty());
}

TEST_F(ControlCommands, AppLifecycleTakesAPortAndOptionallyAPhone) {
  EXPECT_EQ(run("app suspend 2350"), "ok\n");
  EXPECT_EQ(run("app resume 2350 1"), "ok\n");
  EXPECT_EQ(run("app kill 62078"), "ok\n");
  const std::vector<std::string> want = {"app 2350 suspended", "app 2350 running",
                                         "app 62078 killed"};
  EXPECT_EQ(phone.calls, want);
  ASSERT_EQ(done.size(), 3u);
  EXPECT_EQ(done[0], "phone 1 00008120-7E7E000000000000: app suspend 2350");
  EXPECT_EQ(done[2], "phone 1 00008120-7E7E000000000000: app kill 62078");
}

TEST_F(ControlCommands, AppLifecycleErrorsSayWhatIsWanted) {
  const std::string usage =
      "error: say what the app does and its port: 'app suspend|resume|kill PORT [N]' "
      "(e.g. 'app suspend 2350')\n";
  for (const char* bad :
       {"app", "app suspend", "app sleep 2350", "app kill 0", "app kill 70000", "app kill port"})
    EXPECT_EQ(run(bad), usage) << bad;
  EXPECT_EQ(run("app suspend 2350 2"),
            "error: say which phone, 1 to 1 (e.g. 'app suspend 2350 1')\n");
  EXPECT_EQ(run("app suspend 9999"),
            "error: no app listens on port 9999 of phone 00008120-7E7E000000000000\n");
  EXPECT_TRUE(done.empty());
}

TEST(AppOptions, DefaultsAndParsing) {
  app_options o;
  EXPECT_EQ(o.apps.at(2345), "echo");
  EXPECT_EQ(o.apps.at(2346), "source");
  EXPECT_EQ(o.apps.at(2347), "sink");
  std::string error;
  EXPECT_TRUE(parse_app_option("2345=127.0.0.1:9000", o, error));
  EXPECT_EQ(o.apps.at(2345), "127.0.0.1:9000");
  EXPECT_TRUE(parse_app_option("7000=controller", o, error));
  for (const char* bad : {"2345", "0=echo", "70000=echo", "x=echo", "2345=nothing", "2345=host:"}) {
    EXPECT_FALSE(parse_app_option(bad, o, error)) << bad;
    EXPECT_NE(error.find(bad), std::string::npos) << error;
  }
}

}  // namespace
}  // namespace tether::sim
