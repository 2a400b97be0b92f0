#include "pairing/certificates.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

#include "pairing/openssl_error.hpp"

namespace tether::pairing {
namespace {

struct x509_deleter {
  void operator()(X509* x) const { X509_free(x); }
};
using x509_ptr = std::unique_ptr<X509, x509_deleter>;

constexpr long ten_years = 10L * 365 * 24 * 3600;

x509_ptr read_pem(std::string_view pem) {
  BIO* b = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (b == nullptr) return nullptr;
  x509_ptr x(PEM_read_bio_X509(b, nullptr, nullptr, nullptr));
  BIO_free(b);
  return x;
}

}  // namespace

std::string certificate_pem(X509* x) {
  BIO* b = BIO_new(BIO_s_mem());
  std::string out;
  if (b != nullptr && PEM_write_bio_X509(b, x) == 1) {
    char* data = nullptr;
    const long len = BIO_get_mem_data(b, &data);
    out.assign(data, static_cast<std::size_t>(len));
  }
  BIO_free(b);
  return out;
}

namespace {

bool add_extension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) return false;
  const bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

// The body of every certificate here: v3, serial 0, valid from now for ten years.
x509_ptr new_certificate(EVP_PKEY* subject_key) {
  x509_ptr x(X509_new());
  if (!x || X509_set_version(x.get(), 2) != 1 ||
      ASN1_INTEGER_set(X509_get_serialNumber(x.get()), 0) != 1 ||
      X509_gmtime_adj(X509_getm_notBefore(x.get()), 0) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(x.get()), ten_years) == nullptr ||
      X509_set_pubkey(x.get(), subject_key) != 1)
    return nullptr;
  return x;
}

base::result<std::string> cert_failed(const char* what) {
  return {std::make_error_code(std::errc::invalid_argument), openssl_error(what)};
}

}  // namespace

base::result<std::string> make_root_certificate(const rsa_key& root) {
  x509_ptr x = new_certificate(root.get());
  if (!x || !add_extension(x.get(), x.get(), NID_basic_constraints, "critical,CA:TRUE") ||
      !add_extension(x.get(), x.get(), NID_subject_key_identifier, "hash") ||
      X509_sign(x.get(), root.get(), EVP_sha256()) == 0)
    return cert_failed("cannot make the root certificate");
  return certificate_pem(x.get());
}

base::result<std::string> make_leaf_certificate(const rsa_key& root, const std::string& root_pem,
                                                const rsa_key& subject_key) {
  x509_ptr issuer = read_pem(root_pem);
  if (!issuer) return cert_failed("the root certificate is not PEM");
  x509_ptr x = new_certificate(subject_key.get());
  if (!x || X509_set_issuer_name(x.get(), X509_get_subject_name(issuer.get())) != 1 ||
      !add_extension(x.get(), issuer.get(), NID_basic_constraints, "critical,CA:FALSE") ||
      !add_extension(x.get(), issuer.get(), NID_key_usage,
                     "critical,digitalSignature,keyEncipherment") ||
      !add_extension(x.get(), issuer.get(), NID_subject_key_identifier, "hash") ||
      X509_sign(x.get(), root.get(), EVP_sha256()) == 0)
    return cert_failed("cannot make a certificate signed by the root");
  return certificate_pem(x.get());
}

base::result<rsa_key> certificate_key(std::string_view pem) {
  x509_ptr x = read_pem(pem);
  if (!x)
    return {std::make_error_code(std::errc::invalid_argument),
            openssl_error("not a PEM certificate")};
  EVP_PKEY* k = X509_get_pubkey(x.get());  // a new reference
  if (k == nullptr || EVP_PKEY_get_base_id(k) != EVP_PKEY_RSA) {
    EVP_PKEY_free(k);
    return {std::make_error_code(std::errc::invalid_argument),
            "the certificate does not carry an RSA key"};
  }
  return rsa_key::from_parts(pkey_ptr(k), false);
}

bool signed_by(std::string_view cert, std::string_view issuer) {
  x509_ptr c = read_pem(cert);
  x509_ptr i = read_pem(issuer);
  if (!c || !i) return false;
  EVP_PKEY* k = X509_get0_pubkey(i.get());
  const bool ok = k != nullptr && X509_verify(c.get(), k) == 1;
  ERR_clear_error();
  return ok;
}

}  // namespace tether::pairing
