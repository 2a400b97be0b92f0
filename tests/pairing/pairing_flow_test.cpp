// tetherd's pairing flow against the virtual phone's lockdownd (phone/), both sans-I/O,
// joined in memory under a clock the test moves: every path of the Trust dialog, the
// passcode lock, a stored record that still validates and one that does not, and a
// phone that closes the connection or never answers.
#include <gtest/gtest.h>

#include <algorithm>

#include "pairing/certificates.hpp"
#include "pairing/pairing_flow.hpp"
#include "phone/lockdown_responder.hpp"

namespace tether::pairing {
namespace {

using namespace std::chrono_literals;

const host_identity& host() {
  static const host_identity id = *host_identity::generate(1024);  // small: format only
  return id;
}

struct harness {
  clock::time_point now = clock::time_point{} + 1h;
  std::shared_ptr<sim::phone_trust> trust =
      std::make_shared<sim::phone_trust>([this] { return now; }, 1024);
  std::unique_ptr<sim::lockdown_responder> phone;  // the connection, while open
  std::unique_ptr<pairing_flow> flow;
  std::optional<clock::time_point> wake;
  std::string saved;
  std::vector<std::string> said;
  int connections = 0;
  bool mute = false;  // the phone swallows everything and answers nothing

  explicit harness(std::vector<std::byte> record = {}, flow_options o = {}) {
    flow = std::make_unique<pairing_flow>("00008120-TEST", "BUID-1", host(), std::move(record), o);
  }

  void connect() {
    phone =
        std::make_unique<sim::lockdown_responder>(sim::lockdown_identity{"00008120-TEST"}, trust);
    ++connections;
    run(flow->connected(now));
  }

  void run(flow_step s) {
    for (int round = 0; round < 50; ++round) {
      for (auto& l : s.say) said.push_back(l.text);
      if (!s.save_record.empty()) saved = s.save_record;
      std::vector<std::byte> answer;
      if (!s.send.empty() && phone && !mute) {
        if (auto fed = phone->feed(s.send); !fed) {  // the phone drops the connection
          phone.reset();
          s = flow->closed(now);
          continue;
        }
        answer = phone->take_output();
      }
      if (s.close) phone.reset();
      if (s.reconnect) return connect();
      wake = s.wake;
      if (answer.empty() || !phone) return;
      s = flow->received(answer, now);
    }
    FAIL() << "the flow and the phone never went quiet";
  }

  // Moves the clock on by `d`, running the flow's timer at each wake on the way.
  void advance(clock::duration d) {
    const auto end = now + d;
    while (wake && *wake <= end) {
      now = *wake;
      wake.reset();
      run(flow->tick(now));
    }
    now = end;
  }

  // The phone resets the connection (it ends idle lockdown connections after 30 s).
  void phone_closes() {
    phone.reset();
    run(flow->closed(now));
  }

  bool said_like(const std::string& part) const {
    return std::any_of(said.begin(), said.end(),
                       [&](const std::string& s) { return s.find(part) != std::string::npos; });
  }
  std::size_t said_count(const std::string& part) const {
    return static_cast<std::size_t>(
        std::count_if(said.begin(), said.end(),
                      [&](const std::string& s) { return s.find(part) != std::string::npos; }));
  }
  std::vector<std::byte> saved_bytes() const {
    auto b = std::as_bytes(std::span(saved));
    return {b.begin(), b.end()};
  }
};

std::string data_of(const std::string& record_xml, const char* key) {
  plist_t p = nullptr;
  plist_from_xml(record_xml.data(), static_cast<std::uint32_t>(record_xml.size()), &p);
  proto::plist_ptr r(p);
  plist_t n = r ? plist_dict_get_item(r.get(), key) : nullptr;
  if (n == nullptr) return {};
  if (plist_get_node_type(n) == PLIST_STRING) return proto::string_item(r.get(), key).value_or("");
  std::uint64_t len = 0;
  const char* d = plist_get_data_ptr(n, &len);
  return std::string(d, len);
}

TEST(PairingFlow, ImmediateTrustPairsAndSavesAFullRecord) {
  harness h;
  h.trust->set_auto_accept(0s);
  h.connect();
  EXPECT_EQ(h.flow->state(), pair_state::paired) << h.flow->describe(h.now);
  ASSERT_FALSE(h.saved.empty());
  EXPECT_TRUE(h.said_like("paired in")) << h.said.front();
  EXPECT_FALSE(h.said_like("waiting for the user"));
  // The record has what libimobiledevice and usbmuxd read, signed by the host's root.
  for (const char* key : {"DeviceCertificate", "HostCertificate", "HostPrivateKey",
                          "RootCertificate", "RootPrivateKey", "HostID", "SystemBUID"})
    EXPECT_FALSE(data_of(h.saved, key).empty()) << key;
  EXPECT_TRUE(signed_by(data_of(h.saved, "DeviceCertificate"), host().root_certificate));
  auto device_key = certificate_key(data_of(h.saved, "DeviceCertificate"));
  ASSERT_TRUE(device_key);
  EXPECT_TRUE(device_key->same_public_key(*h.trust->device_key()));
  EXPECT_EQ(data_of(h.saved, "SystemBUID"), "BUID-1");
}

TEST(PairingFlow, WaitsForTrustSaysSoOnceAndPairsWhenTapped) {
  harness h;
  h.connect();
  EXPECT_EQ(h.flow->state(), pair_state::waiting_for_trust);
  EXPECT_EQ(h.trust->dialog_state(), sim::phone_trust::dialog::shown);
  h.advance(25s);
  EXPECT_EQ(h.flow->state(), pair_state::waiting_for_trust);
  EXPECT_EQ(h.flow->describe(h.now), "waiting for Trust (25 s)");
  std::string error;
  ASSERT_TRUE(h.trust->accept(error)) << error;
  h.advance(3s);  // Pair is asked again at most 3 s apart
  EXPECT_EQ(h.flow->state(), pair_state::paired) << h.flow->describe(h.now);
  EXPECT_EQ(h.said_count("waiting for the user to tap Trust"), 1u);
  EXPECT_TRUE(h.said_like("Trust tapped: paired in"));
  EXPECT_FALSE(h.saved.empty());
  EXPECT_EQ(h.connections, 1);
}

TEST(PairingFlow, DontTrustStopsAndSaysHowToAskAgain) {
  harness h;
  h.connect();
  std::string error;
  ASSERT_TRUE(h.trust->deny(error));
  h.advance(3s);
  EXPECT_EQ(h.flow->state(), pair_state::denied);
  EXPECT_TRUE(h.said_like("Don't Trust")) << h.said.back();
  EXPECT_TRUE(h.said_like("tether pair"));
  EXPECT_TRUE(h.flow->finished());
  EXPECT_FALSE(h.wake);  // nothing more is asked
  EXPECT_TRUE(h.saved.empty());
}

TEST(PairingFlow, TheDialogWaitIsBoundedAndItsEndSaid) {
  harness h({}, {.trust_wait = 120s});
  h.connect();
  h.advance(119s);
  EXPECT_EQ(h.flow->state(), pair_state::waiting_for_trust);
  h.advance(5s);
  EXPECT_EQ(h.flow->state(), pair_state::gave_up);
  EXPECT_TRUE(h.said_like("nobody answered the Trust dialog in 12")) << h.said.back();
}

TEST(PairingFlow, ALockedPhoneIsWaitedForThenAsksToTrust) {
  harness h;
  h.trust->set_passcode_locked(true);
  h.connect();
  EXPECT_EQ(h.flow->state(), pair_state::locked);
  EXPECT_TRUE(h.said_like("the phone is locked")) << h.said.back();
  h.advance(30s);
  EXPECT_EQ(h.said_count("the phone is locked"), 1u);
  h.trust->set_passcode_locked(false);
  h.advance(3s);
  EXPECT_EQ(h.flow->state(), pair_state::waiting_for_trust);
  std::string error;
  ASSERT_TRUE(h.trust->accept(error));
  h.advance(3s);
  EXPECT_EQ(h.flow->state(), pair_state::paired);
}

TEST(PairingFlow, AStoredRecordThatValidatesIsUsedNotReplaced) {
  harness first;
  first.trust->set_auto_accept(0s);
  first.connect();
  ASSERT_EQ(first.flow->state(), pair_state::paired);
  // The phone is replugged: a new flow with the stored record and the same phone.
  harness again(first.saved_bytes());
  again.trust = first.trust;
  again.trust->replugged();
  again.trust->set_auto_accept(std::nullopt);  // a dialog would now wait for ever
  again.connect();
  EXPECT_EQ(again.flow->state(), pair_state::paired) << again.flow->describe(again.now);
  EXPECT_TRUE(again.said_like("paired already")) << again.said.back();
  EXPECT_TRUE(again.saved.empty());  // not replaced
  EXPECT_EQ(again.trust->dialog_state(), sim::phone_trust::dialog::none);
}

TEST(PairingFlow, ARecordThePhoneForgotIsSaidAndReplaced) {
  harness first;
  first.trust->set_auto_accept(0s);
  first.connect();
  ASSERT_EQ(first.flow->state(), pair_state::paired);
  first.trust->forget_hosts();
  harness again(first.saved_bytes());
  again.trust = first.trust;
  again.connect();
  EXPECT_TRUE(again.said_like("no longer valid")) << again.said.front();
  EXPECT_EQ(again.flow->state(), pair_state::paired);  // auto-accept still on
  ASSERT_FALSE(again.saved.empty());
  EXPECT_NE(data_of(again.saved, "HostID"), data_of(first.saved, "HostID"));
}

TEST(PairingFlow, APhoneThatClosesLockdownMidDialogIsDialledAgain) {
  harness h;
  h.connect();
  ASSERT_EQ(h.flow->state(), pair_state::waiting_for_trust);
  h.advance(10s);
  h.phone_closes();
  h.advance(2s);
  EXPECT_EQ(h.connections, 2);
  EXPECT_EQ(h.flow->state(), pair_state::waiting_for_trust);
  std::string error;
  ASSERT_TRUE(h.trust->accept(error));
  h.advance(3s);
  EXPECT_EQ(h.flow->state(), pair_state::paired);
  EXPECT_EQ(h.said_count("waiting for the user"), 1u);
}

TEST(PairingFlow, SilenceFromLockdownIsBoundedAndNamed) {
  harness h;
  h.mute = true;
  h.connect();
  h.advance(11s);
  EXPECT_EQ(h.flow->state(), pair_state::failed);
  EXPECT_TRUE(h.said_like("lockdownd did not answer QueryType within 10 s")) << h.said.back();
}

}  // namespace
}  // namespace tether::pairing
