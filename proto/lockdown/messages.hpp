#pragma once
// lockdownd's wire (port 62078): each message is a 32-bit big-endian length and a plist
// of that many bytes (XML from hosts; phones answer XML). A request names itself in
// "Request"; the answer repeats it and carries either its values or "Error".
//
// The pairing requests, as libimobiledevice 1.3.0 and usbmuxd's preflight send them:
//   QueryType                        -> Type "com.apple.mobile.lockdown"
//   GetValue [Domain] [Key]          -> Value (DevicePublicKey: PEM bytes)
//   Pair PairRecord ProtocolVersion "2" PairingOptions{ExtendedPairingErrors}
//                                    -> EscrowBag, or Error (below)
//   StartSession HostID SystemBUID   -> SessionID, EnableSessionSSL; TLS follows at once
//   StopSession SessionID            -> (inside TLS); then close_notify, plain again
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "proto/plist_util.hpp"

namespace tether::proto::lockdown {

inline constexpr std::uint16_t port = 62078;
// Real messages are a few KiB (a pair record is about 6); a whole GetValue stays far
// below this. A length above it is not lockdown.
inline constexpr std::uint32_t max_message = 1u << 20;

// The errors pairing turns on, as the phone spells them.
enum class lockdown_error {
  none,
  password_protected,   // "PasswordProtected": locked, the passcode is needed
  user_denied_pairing,  // "UserDeniedPairing": "Don't Trust" was tapped
  dialog_pending,       // "PairingDialogResponsePending": the dialog is up
  invalid_host_id,      // "InvalidHostID": the phone does not know this host
  other,                // anything else, kept in `text`
};
struct reply_error {
  lockdown_error code = lockdown_error::none;
  std::string text;  // the phone's own word
};
lockdown_error error_from_text(std::string_view text);
// The "Error" of an answer (none when it has none).
reply_error error_of(plist_t reply);

// One message on the wire: length and XML.
std::vector<std::byte> encode(plist_t message);

// Splits the stream into plists. Errors are sticky: a length over max_message, or bytes
// that are not a plist, end the connection.
class message_reader {
 public:
  base::result<void> feed(std::span<const std::byte> bytes);
  // The next complete message; nullptr when none waits.
  plist_ptr next();
  std::size_t buffered() const { return buffer_.size(); }

 private:
  std::vector<std::byte> buffer_;
  std::deque<plist_ptr> ready_;
  std::error_code error_;
  std::string error_text_;
};

// Requests.
plist_ptr request(const char* name, const std::string& label);
plist_ptr get_value(const std::string& label, const char* domain, const char* key);

}  // namespace tether::proto::lockdown
