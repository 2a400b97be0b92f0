// The pairing library on its own: keys round-trip through the PEM forms pair records
// use, certificates chain to the root that signed them, and two tls_pipes (the host as
// client with the root certificate, the phone as server with its device certificate)
// talk to each other, close, and hand back the plaintext that follows close_notify.
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "pairing/certificates.hpp"
#include "pairing/rsa_key.hpp"
#include "pairing/tls_pipe.hpp"

namespace tether::pairing {
namespace {

std::span<const std::byte> bytes(const std::string& s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}
std::string text(const std::vector<std::byte>& b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

// Keys are slow to make: one set for the whole file (1024 bits where only the format
// matters).
struct keys {
  rsa_key root = *rsa_key::generate(1024);
  rsa_key device = *rsa_key::generate(1024);
  std::string root_cert = *make_root_certificate(root);
  std::string device_cert =
      *make_leaf_certificate(root, root_cert, *rsa_key::from_public_pem(device.public_pem()));
};
const keys& k() {
  static const keys all;
  return all;
}

TEST(RsaKey, PemFormsAreThoseOfPairRecords) {
  const std::string priv = k().device.private_pem();
  const std::string pub = k().device.public_pem();
  EXPECT_EQ(priv.rfind("-----BEGIN RSA PRIVATE KEY-----", 0), 0u) << priv;
  EXPECT_EQ(pub.rfind("-----BEGIN RSA PUBLIC KEY-----", 0), 0u) << pub;
  auto back = rsa_key::from_public_pem(pub);
  ASSERT_TRUE(back) << back.describe();
  EXPECT_FALSE(back->has_private());
  EXPECT_TRUE(back->same_public_key(k().device));
  EXPECT_FALSE(back->same_public_key(k().root));
  auto again = rsa_key::from_private_pem(priv);
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->same_public_key(k().device));
}

TEST(RsaKey, RejectsWhatIsNotAKeyInWords) {
  auto r = rsa_key::from_public_pem("-----BEGIN RSA PUBLIC KEY-----\nAAAA\n");
  ASSERT_FALSE(r);
  EXPECT_NE(r.describe().find("not a PEM RSA public key"), std::string::npos) << r.describe();
  EXPECT_FALSE(rsa_key::from_private_pem(""));
}

TEST(Certificates, LeafChainsToItsRootAndCarriesTheSubjectKey) {
  EXPECT_TRUE(signed_by(k().root_cert, k().root_cert));  // self-signed
  EXPECT_TRUE(signed_by(k().device_cert, k().root_cert));
  EXPECT_FALSE(signed_by(k().root_cert, k().device_cert));
  auto key = certificate_key(k().device_cert);
  ASSERT_TRUE(key);
  EXPECT_TRUE(key->same_public_key(k().device));
  // Another root did not sign it.
  const rsa_key other = *rsa_key::generate(1024);
  EXPECT_FALSE(signed_by(k().device_cert, *make_root_certificate(other)));
  EXPECT_FALSE(signed_by("not a certificate", k().root_cert));
  EXPECT_FALSE(certificate_key("junk"));
}

// Moves bytes between the two pipes until neither has anything to send.
void shuttle(tls_pipe& a, tls_pipe& b) {
  for (int round = 0; round < 20; ++round) {
    auto ab = a.take_ciphertext();
    auto ba = b.take_ciphertext();
    if (ab.empty() && ba.empty()) return;
    ASSERT_TRUE(b.feed(ab));
    ASSERT_TRUE(a.feed(ba));
  }
  FAIL() << "the pipes never went quiet";
}

TEST(TlsPipe, HostAndPhoneTalkThenCloseAndGoBackToPlaintext) {
  auto host = tls_pipe::make(tls_pipe::role::client, {k().root_cert, k().root.private_pem()});
  auto phone = tls_pipe::make(tls_pipe::role::server, {k().device_cert, k().device.private_pem()});
  ASSERT_TRUE(host) << host.describe();
  ASSERT_TRUE(phone) << phone.describe();
  // The host writes before the handshake ends: held, then sent.
  ASSERT_TRUE((*host)->write(bytes("GetValue")));
  shuttle(**host, **phone);
  ASSERT_TRUE((*host)->established());
  ASSERT_TRUE((*phone)->established());
  EXPECT_EQ(text((*phone)->take_plaintext()), "GetValue");
  // The phone sees the certificate the host presented: the record's root.
  auto presented = certificate_key((*phone)->peer_certificate_pem());
  ASSERT_TRUE(presented);
  EXPECT_TRUE(presented->same_public_key(k().root));
  ASSERT_TRUE((*phone)->write(bytes("Value")));
  shuttle(**host, **phone);
  EXPECT_EQ(text((*host)->take_plaintext()), "Value");

  // StopSession: the host closes; what it sends next is plain lockdown again.
  (*host)->close();
  auto wire = (*host)->take_ciphertext();
  const std::string plain = "\x00\x00\x00\x05hello";
  wire.insert(wire.end(), bytes(plain).begin(), bytes(plain).end());
  ASSERT_TRUE((*phone)->feed(wire));
  EXPECT_TRUE((*phone)->peer_closed());
  EXPECT_EQ(text((*phone)->take_after_close()), plain);
}

TEST(TlsPipe, GarbageFailsTheHandshakeWithAReason) {
  auto phone = tls_pipe::make(tls_pipe::role::server, {k().device_cert, k().device.private_pem()});
  ASSERT_TRUE(phone);
  const std::string junk(64, 'x');
  auto r = (*phone)->feed(bytes(junk));
  ASSERT_FALSE(r);
  EXPECT_NE(r.describe().find("TLS handshake failed"), std::string::npos) << r.describe();
  EXPECT_FALSE((*phone)->established());
}

TEST(TlsPipe, AKeyThatIsNotTheCertificatesIsRefused) {
  auto p = tls_pipe::make(tls_pipe::role::server, {k().device_cert, k().root.private_pem()});
  ASSERT_FALSE(p);
  EXPECT_NE(p.describe().find("certificate and key"), std::string::npos) << p.describe();
}

}  // namespace
}  // namespace tether::pairing
