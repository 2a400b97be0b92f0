#pragma once
// The host's side of every pair record: a root CA key and certificate, and the host's
// own key and certificate signed by it. Made once and kept (RSA-2048 takes seconds on
// a small board; libimobiledevice makes two new keys for every pairing), so each new
// phone costs only its device certificate. Stored as one PEM file, mode 0600: it holds
// private keys.
#include <filesystem>
#include <string>

#include "base/result.hpp"
#include "pairing/rsa_key.hpp"

namespace tether::pairing {

struct host_identity {
  rsa_key root_key;
  std::string root_certificate;
  rsa_key host_key;
  std::string host_certificate;

  // Two new keys and their certificates.
  static base::result<host_identity> generate(int bits = 2048);
  // The four PEM blocks, in the order above.
  std::string to_pem() const;
  static base::result<host_identity> from_pem(std::string_view pem);
};

// The identity stored at `file`, or a new one made and stored there (atomically, 0600)
// when there is none. An unreadable or damaged file is an error in words, never
// silently replaced: every phone paired so far trusts the root inside it.
base::result<host_identity> load_or_create_host_identity(const std::filesystem::path& file);

}  // namespace tether::pairing
