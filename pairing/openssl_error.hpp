#pragma once
// OpenSSL's error queue, in words, for the detail of a result.
#include <string>

namespace tether::pairing {

// "what: OpenSSL's reasons, oldest first", and the queue emptied, so that one failure
// never shows up in the next one's message.
std::string openssl_error(const std::string& what);

}  // namespace tether::pairing
