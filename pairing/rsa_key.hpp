#pragma once
// An RSA key pair or public key, in the PEM forms pair records use: the private key as
// PKCS#1 ("RSA PRIVATE KEY", what libimobiledevice writes and reads) and the phone's
// DevicePublicKey as PKCS#1 ("RSA PUBLIC KEY").
#include <memory>
#include <string>
#include <string_view>

#include "base/result.hpp"

using EVP_PKEY = struct evp_pkey_st;

namespace tether::pairing {

struct pkey_deleter {
  void operator()(EVP_PKEY* k) const;
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_deleter>;

class rsa_key {
 public:
  // A fresh key. 2048 bits, as phones and libimobiledevice use; it takes from tens of
  // milliseconds to seconds (a small board), so callers keep the key they made.
  static base::result<rsa_key> generate(int bits = 2048);
  // A private key from PEM (PKCS#1 or PKCS#8).
  static base::result<rsa_key> from_private_pem(std::string_view pem);
  // A public key from PEM ("RSA PUBLIC KEY" or "PUBLIC KEY").
  static base::result<rsa_key> from_public_pem(std::string_view pem);

  bool has_private() const { return private_; }
  std::string private_pem() const;  // "RSA PRIVATE KEY"; empty for a public key
  std::string public_pem() const;   // "RSA PUBLIC KEY"
  EVP_PKEY* get() const { return key_.get(); }
  // Same modulus and exponent.
  bool same_public_key(const rsa_key& other) const;

  rsa_key() = default;
  static rsa_key from_parts(pkey_ptr k, bool priv);

 private:
  rsa_key(pkey_ptr k, bool priv) : key_(std::move(k)), private_(priv) {}
  std::shared_ptr<EVP_PKEY> key_;
  bool private_ = false;
};

}  // namespace tether::pairing
