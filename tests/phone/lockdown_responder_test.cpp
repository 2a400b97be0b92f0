// The virtual lockdownd's pairing, driven as libimobiledevice 1.3.0 drives a phone: the
// host side here is made of pairing/ (keys, certificates, a TLS client) and
// proto/lockdown (framing), the clock is the test's, so every dialog timing is exact.
#include "phone/lockdown_responder.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <iostream>
#include <string>

#include "pairing/certificates.hpp"

namespace tether::sim {
namespace {

using namespace std::chrono_literals;
using pairing::rsa_key;
using pairing::tls_pipe;
using proto::plist_ptr;
namespace lockdown = proto::lockdown;

// A host's half of a pair record. Keys are slow to make: 1024 bits, made once.
struct host_keys {
  rsa_key root, host;
  std::string root_cert, host_cert, host_id, buid = "5C1A7E0D-0000-4000-8000-00000000B01D";
};
host_keys make_host(const std::string& host_id) {
  host_keys h{*rsa_key::generate(1024), *rsa_key::generate(1024), {}, {}, host_id};
  h.root_cert = *pairing::make_root_certificate(h.root);
  h.host_cert = *pairing::make_leaf_certificate(h.root, h.root_cert, h.host);
  return h;
}
const host_keys& host_a() {
  static const host_keys h = make_host("A0000000-0000-4000-8000-00000000000A");
  return h;
}
const host_keys& host_b() {
  static const host_keys h = make_host("B0000000-0000-4000-8000-00000000000B");
  return h;
}

std::string data_of(plist_t node) {
  char* data = nullptr;
  std::uint64_t len = 0;
  if (node != nullptr && plist_get_node_type(node) == PLIST_DATA)
    plist_get_data_val(node, &data, &len);
  std::string out(data != nullptr ? data : "", static_cast<std::size_t>(len));
  std::free(data);
  return out;
}
std::string error_of(plist_t reply) { return lockdown::error_of(reply).text; }

class LockdownResponder : public ::testing::Test {
 protected:
  phone_trust::clock::time_point now{};
  std::shared_ptr<phone_trust> trust = std::make_shared<phone_trust>([this] { return now; }, 1024);
  lockdown_identity id{"00008120-7E7E000000000000"};

  // One request in plaintext on `phone`, its one answer.
  plist_ptr ask(lockdown_responder& phone, const plist_ptr& request) {
    auto fed = phone.feed(lockdown::encode(request.get()));
    EXPECT_TRUE(fed) << fed.describe();
    lockdown::message_reader r;
    EXPECT_TRUE(r.feed(phone.take_output()));
    plist_ptr reply = r.next();
    EXPECT_NE(reply, nullptr);
    EXPECT_EQ(r.next(), nullptr) << "one answer per request";
    return reply;
  }

  // The phone's DevicePublicKey, read as libimobiledevice does before Pair.
  rsa_key device_public_key(lockdown_responder& phone) {
    plist_ptr reply = ask(phone, lockdown::get_value("test", nullptr, "DevicePublicKey"));
    const std::string pem = data_of(plist_dict_get_item(reply.get(), "Value"));
    EXPECT_EQ(pem.rfind("-----BEGIN RSA PUBLIC KEY-----", 0), 0u) << pem;
    return *rsa_key::from_public_pem(pem);
  }

  // libimobiledevice's Pair request: the record without its private keys.
  plist_ptr pair_request(const host_keys& h, const std::string& device_cert) {
    plist_ptr req = lockdown::request("Pair", "test");
    plist_t rec = plist_new_dict();
    auto data = [](const std::string& s) { return plist_new_data(s.data(), s.size()); };
    plist_dict_set_item(rec, "DeviceCertificate", data(device_cert));
    plist_dict_set_item(rec, "HostCertificate", data(h.host_cert));
    plist_dict_set_item(rec, "RootCertificate", data(h.root_cert));
    if (!h.host_id.empty()) plist_dict_set_item(rec, "HostID", plist_new_string(h.host_id.c_str()));
    if (!h.buid.empty()) plist_dict_set_item(rec, "SystemBUID", plist_new_string(h.buid.c_str()));
    plist_dict_set_item(req.get(), "PairRecord", rec);
    plist_dict_set_item(req.get(), "ProtocolVersion", plist_new_string("2"));
    plist_t options = plist_new_dict();
    plist_dict_set_item(options, "ExtendedPairingErrors", plist_new_bool(1));
    plist_dict_set_item(req.get(), "PairingOptions", options);
    return req;
  }
  std::string device_cert(lockdown_responder& phone, const host_keys& h) {
    return *pairing::make_leaf_certificate(h.root, h.root_cert, device_public_key(phone));
  }
  // Pair on a connection of its own; the phone's error word, "" on success.
  std::string pair(const host_keys& h) {
    lockdown_responder phone(id, trust);
    plist_ptr reply = ask(phone, pair_request(h, device_cert(phone, h)));
    if (error_of(reply.get()).empty()) {
      EXPECT_FALSE(data_of(plist_dict_get_item(reply.get(), "EscrowBag")).empty());
    }
    return error_of(reply.get());
  }
  void paired(const host_keys& h) {
    trust->set_auto_accept(0s);
    ASSERT_EQ(pair(h), "");
    trust->set_auto_accept(std::nullopt);
  }

  plist_ptr start_session(lockdown_responder& phone, const host_keys& h) {
    plist_ptr req = lockdown::request("StartSession", "test");
    plist_dict_set_item(req.get(), "HostID", plist_new_string(h.host_id.c_str()));
    plist_dict_set_item(req.get(), "SystemBUID", plist_new_string(h.buid.c_str()));
    return ask(phone, req);
  }
  // Moves bytes between the host's TLS client and the phone until both are quiet; the
  // phone's verdict on what it was fed.
  base::result<void> shuttle(tls_pipe& host, lockdown_responder& phone) {
    for (int round = 0; round < 20; ++round) {
      const auto to_phone = host.take_ciphertext();
      auto to_host = phone.take_output();
      if (to_phone.empty() && to_host.empty()) return {};
      if (auto ok = phone.feed(to_phone); !ok) return ok;
      const auto more = phone.take_output();
      to_host.insert(to_host.end(), more.begin(), more.end());
      EXPECT_TRUE(host.feed(to_host));
    }
    ADD_FAILURE() << "the host and the phone never went quiet";
    return {};
  }
  // One request inside the session, its answer.
  plist_ptr ask_in_session(tls_pipe& host, lockdown_responder& phone, const plist_ptr& request) {
    EXPECT_TRUE(host.write(lockdown::encode(request.get())));
    auto ok = shuttle(host, phone);
    EXPECT_TRUE(ok) << ok.describe();
    lockdown::message_reader r;
    EXPECT_TRUE(r.feed(host.take_plaintext()));
    return r.next();
  }
};

TEST_F(LockdownResponder, DialogPendsUntilAcceptedThenThePairSucceeds) {
  EXPECT_EQ(pair(host_a()), "PairingDialogResponsePending");
  EXPECT_EQ(trust->dialog_state(), phone_trust::dialog::shown);
  now += 25s;
  EXPECT_EQ(pair(host_a()), "PairingDialogResponsePending") << "still up";
  EXPECT_EQ(trust->status(), "dialog up for 25.0 s, 0 hosts trusted, unlocked");
  std::string error;
  ASSERT_TRUE(trust->accept(error));
  // idevicepair makes a new HostID each run: the accepted dialog trusts the next Pair.
  EXPECT_EQ(pair(host_b()), "");
  EXPECT_EQ(trust->trusted_count(), 1u);
  EXPECT_EQ(trust->dialog_state(), phone_trust::dialog::none);
  EXPECT_FALSE(trust->accept(error));
  EXPECT_EQ(error, "no Trust dialog is up on the phone (a host's Pair raises it)");
}

TEST_F(LockdownResponder, DontTrustHoldsUntilReplugged) {
  EXPECT_EQ(pair(host_a()), "PairingDialogResponsePending");
  std::string error;
  ASSERT_TRUE(trust->deny(error));
  EXPECT_EQ(pair(host_a()), "UserDeniedPairing");
  EXPECT_EQ(pair(host_b()), "UserDeniedPairing");
  EXPECT_EQ(trust->status(), "denied (until replugged), 0 hosts trusted, unlocked");
  trust->replugged();
  EXPECT_EQ(pair(host_a()), "PairingDialogResponsePending") << "a fresh dialog";
  EXPECT_EQ(trust->trusted_count(), 0u);
}

TEST_F(LockdownResponder, PasscodeLockRefusesWithoutADialogUntilUnlocked) {
  trust->set_passcode_locked(true);
  EXPECT_EQ(pair(host_a()), "PasswordProtected");
  EXPECT_EQ(trust->dialog_state(), phone_trust::dialog::none);
  trust->set_passcode_locked(false);
  EXPECT_EQ(pair(host_a()), "PairingDialogResponsePending");
}

TEST_F(LockdownResponder, ATrustedHostPairsAtOnceAndANewOneAsks) {
  paired(host_a());
  trust->set_passcode_locked(true);
  EXPECT_EQ(pair(host_a()), "") << "known HostID: no dialog, even locked";
  trust->set_passcode_locked(false);
  EXPECT_EQ(pair(host_b()), "PairingDialogResponsePending");
}

TEST_F(LockdownResponder, AutoAcceptAfterItsTimeOrAtOnce) {
  trust->set_auto_accept(5s);
  EXPECT_EQ(pair(host_a()), "PairingDialogResponsePending");
  now += 4s;
  EXPECT_EQ(pair(host_a()), "PairingDialogResponsePending");
  now += 1s;
  EXPECT_EQ(pair(host_a()), "");
  // With re-enumeration on, only the control loop's accept_if_due() accepts (it then
  // re-enumerates); a Pair meanwhile still pends.
  trust->set_reenumerate_on_accept(true);
  EXPECT_EQ(pair(host_b()), "PairingDialogResponsePending");
  now += 6s;
  EXPECT_EQ(pair(host_b()), "PairingDialogResponsePending");
  EXPECT_TRUE(trust->accept_if_due());
  EXPECT_EQ(pair(host_b()), "");
  trust->forget_hosts();
  trust->set_auto_accept(0s);
  EXPECT_EQ(pair(host_b()), "") << "0 s: no dialog at all";
}

TEST_F(LockdownResponder, RecordsThatDoNotCheckOutAreRefused) {
  lockdown_responder phone(id, trust);
  const std::string good = device_cert(phone, host_a());
  // The device certificate of another phone's key.
  const std::string other_key =
      *pairing::make_leaf_certificate(host_a().root, host_a().root_cert, *rsa_key::generate(1024));
  EXPECT_EQ(error_of(ask(phone, pair_request(host_a(), other_key)).get()), "InvalidPairRecord");
  // Signed by a root other than the record's.
  host_keys mixed = make_host(host_a().host_id);
  mixed.root_cert = host_b().root_cert;
  EXPECT_EQ(error_of(ask(phone, pair_request(mixed, good)).get()), "InvalidPairRecord");
  host_keys no_id = host_a();
  no_id.host_id.clear();
  EXPECT_EQ(error_of(ask(phone, pair_request(no_id, good)).get()), "MissingHostID");
  host_keys no_buid = host_a();
  no_buid.buid.clear();
  EXPECT_EQ(error_of(ask(phone, pair_request(no_buid, good)).get()), "InvalidPairRecord");
  EXPECT_EQ(trust->dialog_state(), phone_trust::dialog::none) << "no dialog for a bad record";
}

TEST_F(LockdownResponder, SessionRunsOverTlsThenPlaintextResumes) {
  paired(host_a());
  lockdown_responder phone(id, trust);
  plist_ptr outside = ask(phone, lockdown::get_value("test", nullptr, nullptr));
  EXPECT_EQ(plist_dict_get_item(plist_dict_get_item(outside.get(), "Value"), "SerialNumber"),
            nullptr)
      << "no session, no serial";
  plist_ptr started = start_session(phone, host_a());
  ASSERT_EQ(error_of(started.get()), "");
  EXPECT_TRUE(proto::string_item(started.get(), "SessionID"));
  uint8_t ssl = 0;
  plist_get_bool_val(plist_dict_get_item(started.get(), "EnableSessionSSL"), &ssl);
  EXPECT_TRUE(ssl);
  ASSERT_TRUE(phone.in_session());
  // libimobiledevice's OpenSSL path presents the record's root certificate.
  auto host =
      tls_pipe::make(tls_pipe::role::client, {host_a().root_cert, host_a().root.private_pem()});
  ASSERT_TRUE(host) << host.describe();
  plist_ptr all = ask_in_session(**host, phone, lockdown::get_value("test", nullptr, nullptr));
  ASSERT_NE(all, nullptr);
  plist_t value = plist_dict_get_item(all.get(), "Value");
  EXPECT_EQ(proto::string_item(value, "SerialNumber"), "F2L00000000Q");
  EXPECT_EQ(proto::string_item(value, "UniqueDeviceID"), id.udid);
  plist_ptr stop = lockdown::request("StopSession", "test");
  plist_dict_set_item(stop.get(), "SessionID",
                      plist_copy(plist_dict_get_item(started.get(), "SessionID")));
  plist_ptr stopped = ask_in_session(**host, phone, stop);
  ASSERT_NE(stopped, nullptr);
  EXPECT_EQ(proto::string_item(stopped.get(), "Request"), "StopSession");
  EXPECT_EQ(error_of(stopped.get()), "");
  // SSL_shutdown's close_notify, and plain lockdown behind it in the same read.
  (*host)->close();
  auto wire = (*host)->take_ciphertext();
  const auto query = lockdown::encode(lockdown::request("QueryType", "test").get());
  wire.insert(wire.end(), query.begin(), query.end());
  ASSERT_TRUE(phone.feed(wire));
  EXPECT_FALSE(phone.in_session());
  lockdown::message_reader r;
  ASSERT_TRUE(r.feed(phone.take_output()));
  plist_ptr type = r.next();
  ASSERT_NE(type, nullptr) << "QueryType answered in plaintext";
  EXPECT_EQ(proto::string_item(type.get(), "Type"), "com.apple.mobile.lockdown");
}

TEST_F(LockdownResponder, AForgottenHostGetsInvalidHostID) {
  paired(host_a());
  trust->forget_hosts();
  lockdown_responder phone(id, trust);
  EXPECT_EQ(error_of(start_session(phone, host_a()).get()), "InvalidHostID");
  EXPECT_FALSE(phone.in_session());
}

TEST_F(LockdownResponder, AClientCertificateNotOfTheRecordIsDropped) {
  paired(host_a());
  lockdown_responder phone(id, trust);
  ASSERT_EQ(error_of(start_session(phone, host_a()).get()), "");
  // Host B's own root, not the one host A paired with.
  auto host =
      tls_pipe::make(tls_pipe::role::client, {host_b().root_cert, host_b().root.private_pem()});
  ASSERT_TRUE(host);
  ASSERT_TRUE((*host)->write(lockdown::encode(lockdown::get_value("t", nullptr, nullptr).get())));
  auto verdict = shuttle(**host, phone);
  ASSERT_FALSE(verdict);
  EXPECT_NE(verdict.describe().find("neither the root nor the host certificate"), std::string::npos)
      << verdict.describe();
}

TEST_F(LockdownResponder, BadFramingDropsAndUnknownRequestsAreRefused) {
  lockdown_responder phone(id, trust);
  EXPECT_EQ(error_of(ask(phone, lockdown::request("EnterRecovery", "t")).get()),
            "UnsupportedRequest");
  const std::byte huge[] = {std::byte{0x00}, std::byte{0x20}, std::byte{0x00}, std::byte{0x00}};
  auto r = phone.feed(huge);  // 2 MiB: over proto::lockdown::max_message
  ASSERT_FALSE(r);
  EXPECT_NE(r.describe().find("not lockdown"), std::string::npos) << r.describe();
  lockdown_responder other(id, trust);
  const std::string junk("\x00\x00\x00\x05hello", 9);  // five bytes that are not a plist
  EXPECT_FALSE(other.feed(std::as_bytes(std::span(junk.data(), junk.size()))));
}

// The costs worth knowing on a small board: the phone's first key, and one session.
TEST_F(LockdownResponder, TimingsOfTheDeviceKeyAndASession) {
  using steady = std::chrono::steady_clock;
  auto real = std::make_shared<phone_trust>();  // 2048 bits, as a phone's
  const auto t0 = steady::now();
  ASSERT_TRUE(real->device_key());
  const auto t1 = steady::now();
  trust = real;
  paired(host_a());
  lockdown_responder phone(id, trust);
  const auto t2 = steady::now();
  ASSERT_EQ(error_of(start_session(phone, host_a()).get()), "");
  auto host =
      tls_pipe::make(tls_pipe::role::client, {host_a().root_cert, host_a().root.private_pem()});
  ASSERT_TRUE(host);
  ASSERT_NE(ask_in_session(**host, phone, lockdown::get_value("t", nullptr, nullptr)), nullptr);
  const auto t3 = steady::now();
  auto ms = [](auto d) { return std::chrono::duration<double, std::milli>(d).count(); };
  std::cout << "device key (RSA-2048): " << ms(t1 - t0)
            << " ms; StartSession + TLS handshake + GetValue: " << ms(t3 - t2) << " ms\n";
}

}  // namespace
}  // namespace tether::sim
