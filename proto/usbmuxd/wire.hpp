#pragma once
// The usbmuxd client protocol (what libusbmuxd, iproxy, idevice_id and PeerTalk send
// to the daemon's unix socket): a 16-byte header, then a binary (version 0) or plist
// (version 1) body. Header fields are little-endian on every platform clients run on,
// so we always read and write little-endian, whatever the CPU.
#include <plist/plist.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <variant>
#include <vector>

#include "base/result.hpp"
#include "proto/tetherd/control.hpp"

namespace tether::proto::usbmuxd {

inline constexpr std::size_t header_size = 16;
inline constexpr std::uint32_t max_message = 65536;  // the reference's CMD_BUF_SIZE

enum class message_type : std::uint32_t {
  result = 1,
  connect = 2,
  listen = 3,
  device_add = 4,
  device_remove = 5,
  device_paired = 6,
  plist = 8,
};

// Result numbers as clients expect them (PeerTalk maps 2 and 3 to its own errors).
enum class result_code : std::uint32_t {
  ok = 0,
  bad_command = 1,
  bad_device = 2,  // also ENOENT for pair-record commands
  connection_refused = 3,
  bad_version = 6,
  invalid_argument = 22,  // EINVAL for pair-record commands
};

struct header {
  std::uint32_t length = 0;   // whole message, header included
  std::uint32_t version = 0;  // 0 binary, 1 plist
  std::uint32_t message = 0;
  std::uint32_t tag = 0;  // replies echo it; events use 0
};

// What is wrong with a message, either way: from a client (the daemon's side) and,
// from bad_daemon_address on, from the daemon or where to find it (client.hpp).
enum class errc {
  too_short = 1,       // length field below 16: the reference closes the socket
  too_long,            // length field above 65536: likewise
  bad_version,         // header version other than 0 or 1: reply BADVERSION, keep the socket
  bad_plist,           // plist body that does not parse to a dict with a MessageType
  bad_binary_body,     // binary body of the wrong size
  bad_daemon_address,  // neither a socket path nor HOST:PORT
  bad_reply_length,    // the daemon's length field is outside 16 to 65536
  bad_reply,           // the daemon's body is not a plist dictionary
};
const std::error_category& client_protocol_category() noexcept;
inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), client_protocol_category()};
}

// Splits a client socket's byte stream into messages, in any chunking. Buffers at
// most one message (64 KiB).
class message_reader {
 public:
  struct message {
    header head;
    std::vector<std::byte> body;
  };
  // Appends bytes; returns an error when the stream cannot be framed any more (the
  // socket should be closed once the messages before the bad header are handled).
  std::error_code feed(std::span<const std::byte> bytes);
  std::optional<message> next();
  std::size_t buffered() const { return buf_.size(); }
  // Everything not yet returned by next(), as it came: after a Connect, these are the
  // first bytes for the phone.
  std::vector<std::byte> take_rest();

 private:
  std::error_code error_;  // sticky: nothing after a bad header is framed
  std::vector<std::byte> buf_;
  std::vector<message> ready_;
  std::size_t next_ready_ = 0;
};

// --- requests ----------------------------------------------------------------------

struct client_info {  // kept per client for ListListeners and for log lines
  std::string prog_name;
  std::string client_version;
  std::string bundle_id;
  std::uint64_t lib_version = 0;
};

namespace requests {
struct list_devices {};
struct listen {};
struct connect {
  std::optional<std::uint32_t> device_id;  // missing: BADDEV
  std::optional<std::uint16_t> port;       // in host order; missing: BADCOMMAND
};
struct read_buid {};
struct read_pair_record {
  std::string id;
};
struct save_pair_record {
  std::string id;
  std::vector<std::byte> data;
  std::optional<std::uint32_t> device_id;
};
struct delete_pair_record {
  std::string id;
};
struct list_listeners {};
// tetherd's own requests (proto/tetherd/control.hpp), or what is wrong with one.
struct control {
  base::result<tetherd::request> parsed;
};
struct unknown {
  std::string what;
};  // answered with BADCOMMAND
}  // namespace requests

using request_body = std::variant<requests::list_devices, requests::listen, requests::connect,
                                  requests::read_buid, requests::read_pair_record,
                                  requests::save_pair_record, requests::delete_pair_record,
                                  requests::list_listeners, requests::control, requests::unknown>;

struct request {
  std::uint32_t tag = 0;
  bool plist = false;  // the reply format becomes plist for good after a plist request
  client_info client;
  request_body body;
};

base::result<request> decode_request(const header& h, std::span<const std::byte> body);

// --- replies and events ---------------------------------------------------------------

struct device {
  std::uint32_t id = 0;
  std::string udid;
  std::uint16_t product_id = 0;
  std::uint32_t location = 0;
  std::uint64_t speed_bps = 0;
};

std::vector<std::byte> encode_result(std::uint32_t tag, result_code code, bool plist);
std::vector<std::byte> encode_result_number(std::uint32_t tag, std::uint32_t number, bool plist);
std::vector<std::byte> encode_device_list(std::uint32_t tag, std::span<const device> devices);
std::vector<std::byte> encode_attached(const device& d, bool plist);
std::vector<std::byte> encode_detached(std::uint32_t device_id, bool plist);
// After SavePairRecord with a DeviceID: the phone is paired now (plist clients only;
// the binary protocol's message 6 has the DeviceID as its body).
std::vector<std::byte> encode_paired(std::uint32_t device_id, bool plist);
// A plist dictionary as a complete message (for tetherd's own replies). Takes ownership.
std::vector<std::byte> encode_plist(std::uint32_t tag, plist_t dict);
std::vector<std::byte> encode_buid(std::uint32_t tag, const std::string& buid);
struct listener {
  std::uint32_t number = 0;  // the listening client's own connection number
  client_info client;
};
std::vector<std::byte> encode_listener_list(std::uint32_t tag, std::span<const listener> listeners);
std::vector<std::byte> encode_pair_record_data(std::uint32_t tag,
                                               std::span<const std::byte> record);

}  // namespace tether::proto::usbmuxd

template <>
struct std::is_error_code_enum<tether::proto::usbmuxd::errc> : std::true_type {};
