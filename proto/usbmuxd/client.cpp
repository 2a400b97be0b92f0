#include "proto/usbmuxd/client.hpp"

#include "base/byte_order.hpp"

#include <charconv>
#include <cstdlib>

namespace tether::proto::usbmuxd {

std::string daemon_address(const std::string& from_option) {
  if (!from_option.empty()) return from_option;
  if (const char* env = std::getenv("USBMUXD_SOCKET_ADDRESS"); env != nullptr && env[0] != '\0')
    return env;
  return "/var/run/usbmuxd";
}

base::result<daemon_endpoint> parse_daemon_address(const std::string& address) {
  std::string where = address;
  if (where.rfind("UNIX:", 0) == 0) where.erase(0, 5);
  daemon_endpoint e;
  if (where.find('/') != std::string::npos) {
    e.unix_path = where;
    return e;
  }
  const auto colon = where.rfind(':');
  unsigned port = 0;
  if (colon != std::string::npos && colon > 0) {
    const char* first = where.data() + colon + 1;
    const char* last = where.data() + where.size();
    const auto [end, ec] = std::from_chars(first, last, port);
    if (ec == std::errc{} && end == last && port > 0 && port <= 65535) {
      e.host = where.substr(0, colon);
      if (e.host.size() >= 2 && e.host.front() == '[' && e.host.back() == ']')
        e.host = e.host.substr(1, e.host.size() - 2);  // [::1]:27015
      e.port = static_cast<std::uint16_t>(port);
      return e;
    }
  }
  return {errc::bad_daemon_address,
          "the usbmuxd address '" + address +
              "' is not a socket path (UNIX:/path or /path) or HOST:PORT"};
}

std::vector<std::byte> encode_client_request(std::uint32_t tag, plist_t dict,
                                             const std::string& program) {
  plist_dict_set_item(dict, "ProgName", plist_new_string(program.c_str()));
  plist_dict_set_item(dict, "ClientVersionString",
                      plist_new_string((program + " " TETHER_VERSION).c_str()));
  plist_dict_set_item(dict, "kLibUSBMuxVersion", plist_new_uint(3));
  return encode_plist(tag, dict);
}

base::result<std::uint32_t> message_length(std::span<const std::byte, header_size> header) {
  const std::uint32_t length = base::load_le32(header.data());
  if (length < header_size || length > max_message)
    return {errc::bad_reply_length, "the daemon sent a message of " + std::to_string(length) +
                                        " bytes, which is not the usbmuxd protocol (16 to 65536)"};
  return length;
}

base::result<plist_ptr> decode_daemon_message(std::span<const std::byte> body) {
  plist_t root = nullptr;
  if (!body.empty())
    plist_from_memory(reinterpret_cast<const char*>(body.data()),
                      static_cast<std::uint32_t>(body.size()), &root);
  plist_ptr owned(root);
  if (root == nullptr || plist_get_node_type(root) != PLIST_DICT)
    return {errc::bad_reply, "the daemon sent a message that is not a plist dictionary"};
  return owned;
}

}  // namespace tether::proto::usbmuxd
