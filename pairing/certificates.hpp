#pragma once
// The three certificates of a pair record, as lockdownd expects them: a self-signed
// root (CA), and the host's and the device's certificates signed by that root. Version
// 3, serial 0, ten years, no names (phones do not read them), SHA-256.
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "pairing/rsa_key.hpp"

using X509 = struct x509_st;

namespace tether::pairing {

// PEM of a self-signed CA certificate for `root`.
base::result<std::string> make_root_certificate(const rsa_key& root);
// PEM of a certificate for `subject_key` (the host's key, or the phone's public key)
// signed by the root.
base::result<std::string> make_leaf_certificate(const rsa_key& root, const std::string& root_pem,
                                                const rsa_key& subject_key);

// The public key a PEM certificate carries.
base::result<rsa_key> certificate_key(std::string_view pem);
// The PEM text of a certificate OpenSSL holds (tls_pipe's peer certificate, too).
std::string certificate_pem(X509* cert);
// Whether the PEM certificate `cert` was signed by the key of PEM certificate `issuer`.
bool signed_by(std::string_view cert, std::string_view issuer);

}  // namespace tether::pairing
