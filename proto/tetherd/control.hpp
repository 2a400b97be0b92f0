#pragma once
// tetherd's own requests. They ride on the usbmuxd socket as plist messages whose
// MessageType starts with "Tether", so one socket (and its 0660 permissions) serves
// both existing clients and the `tether` CLI. The reference usbmuxd answers them with
// BADCOMMAND, which tells a client it is not talking to tetherd.
//
//   TetherForwardAdd     LocalPort, PhonePort, [LocalAddress] [UDID] [Name]
//                        -> Result 0 + Forward {...}, or Result N + Error
//   TetherForwardRemove  Name  -> Result
//   TetherForwardList    -> Result 0 + Forwards [...]
//   TetherStatus         -> Result 0 + Phones [...] + Connections [...]
//   TetherSetLogLevel    Level (error|warn|info|debug) -> Result
//   TetherPair           [UDID] -> Result (pairing started; TetherStatus follows it)
#include <plist/plist.h>

#include <cstdint>
#include <span>
#include <string>
#include <system_error>
#include <variant>
#include <vector>

#include "base/result.hpp"

namespace tether::proto::tetherd {

inline constexpr std::size_t max_name = 64;

// A forward's name: 1 to max_name letters, digits, - _ . or :, so that it also works
// as a configuration section ([forward NAME]) and on a command line.
bool plain_name(const std::string& s);
// A UDID as phones report them (40 hex digits, or 8-16 with a hyphen): at most
// max_name hex digits and hyphens. Empty means "the only phone attached".
bool plausible_udid(const std::string& s);

struct forward_spec {
  std::string name;  // unique; generated from the local port when not given
  std::string bind_address = "127.0.0.1";
  std::uint16_t local_port = 0;  // 0: the kernel picks one, reported back
  std::uint16_t phone_port = 0;
  std::string udid;  // empty: the only phone attached
};

struct forward_status {
  forward_spec spec;
  std::uint16_t bound_port = 0;
  std::string state;  // "listening", "waiting for the app", ...
  std::string last_error;
  std::uint64_t clients_active = 0;
  std::uint64_t clients_total = 0;
  std::uint64_t connect_failures = 0;
  std::uint64_t bytes_to_phone = 0;
  std::uint64_t bytes_from_phone = 0;
};

// A reverse channel: tetherd keeps `spares` connections open to `phone_port` on each
// phone (the one with `udid`, or every phone attached) and joins each at once to the
// board's TCP service at local_address:local_port. The app's accept is its connect.
struct reverse_spec {
  std::string name;  // unique; "r<phone_port>" when not given
  std::uint16_t phone_port = 0;
  std::string local_address = "127.0.0.1";
  std::uint16_t local_port = 0;
  std::string udid;          // empty: every phone attached
  std::uint32_t spares = 2;  // connections waiting for the app on each phone, 1 to 8
};
inline constexpr std::uint32_t max_reverse_spares = 8;

struct reverse_status {
  reverse_spec spec;
  std::string state;  // "waiting for a phone", "2 spares open on 1 phone", ...
  std::string last_error;
  std::uint64_t phones = 0;          // phones the pool is open on
  std::uint64_t spares_open = 0;     // connected, not yet taken by the app
  std::uint64_t in_use = 0;          // taken by the app, joined to the service
  std::uint64_t total = 0;           // taken since added
  std::uint64_t refused = 0;         // the phone refused: no app listening
  std::uint64_t local_failures = 0;  // the board's service could not be reached
  std::uint64_t bytes_to_phone = 0;
  std::uint64_t bytes_from_phone = 0;
};

struct phone_status {
  std::uint32_t device_id = 0;
  std::string udid;
  std::uint16_t product_id = 0;
  std::uint64_t speed_bps = 0;
  std::uint8_t configuration = 0;
  std::uint32_t location = 0;
  std::int64_t seconds_attached = 0;
  std::uint64_t connections_open = 0;
  std::uint64_t connections_total = 0;
  std::uint64_t bytes_to_phone = 0;
  std::uint64_t bytes_from_phone = 0;
  std::uint64_t packets_to_phone = 0;
  std::uint64_t packets_from_phone = 0;
  std::uint64_t protocol_errors = 0;
  std::string pairing;  // "paired", "waiting for Trust (12 s)", ...; empty: not asked
};

struct connection_status {
  std::uint32_t device_id = 0;
  std::uint16_t phone_port = 0;
  std::string client;  // "client 7 iproxy" or "forward ssh from 127.0.0.1:50122"
  std::string state;   // connecting, connected
  std::int64_t seconds_open = 0;
  std::uint64_t bytes_to_phone = 0;
  std::uint64_t bytes_from_phone = 0;
};

namespace requests {
struct forward_add {
  forward_spec spec;
};
struct forward_remove {
  std::string name;
};
struct forward_list {};
struct status {};
struct set_log_level {
  std::string level;
};
struct pair {
  std::string udid;  // empty: the only phone attached
};
struct reverse_add {
  reverse_spec spec;
};
struct reverse_remove {
  std::string name;
};
struct reverse_list {};
}  // namespace requests

using request =
    std::variant<requests::forward_add, requests::forward_remove, requests::forward_list,
                 requests::status, requests::set_log_level, requests::pair, requests::reverse_add,
                 requests::reverse_remove, requests::reverse_list>;

// What is wrong with a Tether* request or reply; the detail names the field and the
// allowed values ("PhonePort must be a port number (1-65535)").
enum class control_errc {
  bad_field = 1,    // a field of the wrong type, or out of range
  missing_field,    // a field the request needs is absent
  unknown_request,  // a Tether* MessageType this tetherd does not know
};
const std::error_category& control_category() noexcept;
inline std::error_code make_error_code(control_errc e) noexcept {
  return {static_cast<int>(e), control_category()};
}

bool is_control_message(const std::string& message_type);
// Decodes a Tether* request from its plist dictionary.
base::result<request> decode(plist_t dict, const std::string& message_type);

// Replies, as plist dictionaries (the caller frames them): Result with Number, plus
// Error when Number is not 0, plus the payload.
plist_t result_dict(std::uint32_t number, const std::string& error = {});
plist_t forward_added_dict(const forward_status& f);
plist_t forward_list_dict(std::span<const forward_status> forwards);
plist_t reverse_added_dict(const reverse_status& r);
plist_t reverse_list_dict(std::span<const reverse_status> reverses);
// `silent`: the UDIDs of phones attached that answer nothing (locked), not served.
plist_t status_dict(std::span<const phone_status> phones,
                    std::span<const connection_status> connections,
                    std::span<const std::string> silent = {});

// The client's side (the tether CLI), by the same field lists: a request as the
// dictionary to send (MessageType included), and the replies decoded. A field of the
// wrong type is an error; an absent one keeps its default.
const char* message_type(const request& r);
plist_t encode(const request& r);
struct status_report {
  std::vector<phone_status> phones;
  std::vector<connection_status> connections;
  std::vector<std::string> silent;  // "Silent": attached, answering nothing (absent: none)
};
base::result<forward_status> decode_forward_added(plist_t reply);
base::result<std::vector<forward_status>> decode_forward_list(plist_t reply);
base::result<reverse_status> decode_reverse_added(plist_t reply);
base::result<std::vector<reverse_status>> decode_reverse_list(plist_t reply);
base::result<status_report> decode_status(plist_t reply);

}  // namespace tether::proto::tetherd

template <>
struct std::is_error_code_enum<tether::proto::tetherd::control_errc> : std::true_type {};
