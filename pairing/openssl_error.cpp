#include "pairing/openssl_error.hpp"

#include <openssl/err.h>

namespace tether::pairing {

std::string openssl_error(const std::string& what) {
  std::string out = what;
  const char* sep = ": ";
  while (const unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    out += sep;
    out += buf;
    sep = "; ";
  }
  return out;
}

}  // namespace tether::pairing
