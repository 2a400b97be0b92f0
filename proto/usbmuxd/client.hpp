#pragma once
// The client side of the usbmuxd protocol, without I/O: where the daemon is, the
// requests a client sends, and the checks on what the daemon sends back. tether's
// clients are thin adapters on it: the CLI's blocking one (tools/cli/mux_client), the
// viewer's Asio one (tools/cli/mux_async) and tether-camera's (tools/camera/mux_connection).
#include <plist/plist.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "base/result.hpp"
#include "proto/plist_util.hpp"
#include "proto/usbmuxd/wire.hpp"

namespace tether::proto::usbmuxd {

// `from_option` if set, else $USBMUXD_SOCKET_ADDRESS, else /var/run/usbmuxd: the order
// libusbmuxd uses, so tether's tools find the daemon that iproxy would.
std::string daemon_address(const std::string& from_option);

// A daemon address as libusbmuxd reads USBMUXD_SOCKET_ADDRESS: "UNIX:/path", a path
// (anything with a '/'), or "HOST:PORT".
struct daemon_endpoint {
  std::string unix_path;  // set for a unix socket; empty for TCP
  std::string host;
  std::uint16_t port = 0;
};
// The endpoint, or errc::bad_daemon_address with a detail quoting the address.
base::result<daemon_endpoint> parse_daemon_address(const std::string& address);

// A plist request from the program `program` (ProgName, with its version as
// ClientVersionString and libusbmuxd's protocol version added, as the reference
// clients send them). Frees `dict`.
std::vector<std::byte> encode_client_request(std::uint32_t tag, plist_t dict,
                                             const std::string& program);

// The length of the message this header starts (header included), or
// errc::bad_reply_length quoting the length. Read the header, then exactly this much
// more: after a Connect reply the phone's bytes follow on the same socket.
base::result<std::uint32_t> message_length(std::span<const std::byte, header_size> header);

// A message's body as the dictionary every plist message is, or errc::bad_reply.
base::result<plist_ptr> decode_daemon_message(std::span<const std::byte> body);

}  // namespace tether::proto::usbmuxd
