#include "pairing/openssl_init.hpp"

#include <openssl/crypto.h>

namespace tether::pairing {

void openssl_without_exit_cleanup() { OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, nullptr); }

}  // namespace tether::pairing
