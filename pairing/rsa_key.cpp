#include "pairing/rsa_key.hpp"

#include <openssl/bio.h>
#include <openssl/decoder.h>
#include <openssl/encoder.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "pairing/openssl_error.hpp"

namespace tether::pairing {
namespace {

struct bio_deleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
using bio_ptr = std::unique_ptr<BIO, bio_deleter>;

std::string encode(EVP_PKEY* k, int selection) {
  OSSL_ENCODER_CTX* ctx =
      OSSL_ENCODER_CTX_new_for_pkey(k, selection, "PEM", "type-specific", nullptr);
  if (ctx == nullptr) return {};
  unsigned char* data = nullptr;
  size_t len = 0;
  std::string out;
  if (OSSL_ENCODER_to_data(ctx, &data, &len) == 1) {
    out.assign(reinterpret_cast<const char*>(data), len);
    OPENSSL_free(data);
  }
  OSSL_ENCODER_CTX_free(ctx);
  return out;
}

base::result<rsa_key> decode(std::string_view pem, int selection, const char* what) {
  EVP_PKEY* k = nullptr;
  OSSL_DECODER_CTX* ctx =
      OSSL_DECODER_CTX_new_for_pkey(&k, "PEM", nullptr, "RSA", selection, nullptr, nullptr);
  if (ctx == nullptr)
    return {std::make_error_code(std::errc::not_supported), openssl_error("no RSA decoder")};
  auto* data = reinterpret_cast<const unsigned char*>(pem.data());
  size_t len = pem.size();
  const int ok = OSSL_DECODER_from_data(ctx, &data, &len);
  OSSL_DECODER_CTX_free(ctx);
  if (ok != 1 || k == nullptr)
    return {std::make_error_code(std::errc::invalid_argument),
            openssl_error(std::string("not a PEM RSA ") + what)};
  return rsa_key::from_parts(pkey_ptr(k), selection == EVP_PKEY_KEYPAIR);
}

}  // namespace

void pkey_deleter::operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }

base::result<rsa_key> rsa_key::generate(int bits) {
  EVP_PKEY* k = EVP_RSA_gen(static_cast<unsigned>(bits));
  if (k == nullptr)
    return {std::make_error_code(std::errc::not_enough_memory),
            openssl_error("RSA key generation failed")};
  return rsa_key(pkey_ptr(k), true);
}

base::result<rsa_key> rsa_key::from_private_pem(std::string_view pem) {
  return decode(pem, EVP_PKEY_KEYPAIR, "private key");
}

base::result<rsa_key> rsa_key::from_public_pem(std::string_view pem) {
  return decode(pem, EVP_PKEY_PUBLIC_KEY, "public key");
}

rsa_key rsa_key::from_parts(pkey_ptr k, bool priv) { return rsa_key(std::move(k), priv); }

std::string rsa_key::private_pem() const {
  return private_ ? encode(key_.get(), EVP_PKEY_KEYPAIR) : std::string();
}

std::string rsa_key::public_pem() const { return encode(key_.get(), EVP_PKEY_PUBLIC_KEY); }

bool rsa_key::same_public_key(const rsa_key& other) const {
  return key_ && other.key_ && EVP_PKEY_eq(key_.get(), other.key_.get()) == 1;
}

}  // namespace tether::pairing
