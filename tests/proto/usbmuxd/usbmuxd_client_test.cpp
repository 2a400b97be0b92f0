// The client side of the usbmuxd protocol: addresses as libusbmuxd reads them, the
// request every tether client sends, and the checks on what a daemon sends back.
#include "proto/usbmuxd/client.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <array>
#include <string>

namespace tether::proto::usbmuxd {
namespace {

daemon_endpoint endpoint(const std::string& address) {
  auto r = parse_daemon_address(address);
  EXPECT_TRUE(r) << address;
  return r ? *r : daemon_endpoint{};
}

std::string refusal(const std::string& address) {
  auto r = parse_daemon_address(address);
  EXPECT_FALSE(r) << address;
  EXPECT_EQ(r.error(), errc::bad_daemon_address);
  return r ? "" : r.detail();
}

TEST(UsbmuxdClientAddress, UnixPathsTcpAndBracketedIpv6) {
  EXPECT_EQ(endpoint("UNIX:/run/tether/usbmuxd").unix_path, "/run/tether/usbmuxd");
  EXPECT_EQ(endpoint("/var/run/usbmuxd").unix_path, "/var/run/usbmuxd");
  EXPECT_EQ(endpoint("./usbmuxd").unix_path, "./usbmuxd");
  const auto tcp = endpoint("127.0.0.1:27015");
  EXPECT_TRUE(tcp.unix_path.empty());
  EXPECT_EQ(tcp.host, "127.0.0.1");
  EXPECT_EQ(tcp.port, 27015);
  const auto v6 = endpoint("[::1]:27015");
  EXPECT_EQ(v6.host, "::1");
  EXPECT_EQ(v6.port, 27015);
}

TEST(UsbmuxdClientAddress, RefusedWithTheAddressNamed) {
  for (const char* bad :
       {"usbmuxd", "", "host:", ":27015", "host:0", "host:65536", "host:27x", "UNIX:"}) {
    const auto why = refusal(bad);
    EXPECT_NE(why.find(std::string("'") + bad + "'"), std::string::npos) << why;
    EXPECT_NE(why.find("HOST:PORT"), std::string::npos) << why;
  }
}

TEST(UsbmuxdClientAddress, OptionThenEnvironmentThenTheSystemSocket) {
  ::unsetenv("USBMUXD_SOCKET_ADDRESS");
  EXPECT_EQ(daemon_address(""), "/var/run/usbmuxd");
  ::setenv("USBMUXD_SOCKET_ADDRESS", "UNIX:/tmp/t/usbmuxd", 1);
  EXPECT_EQ(daemon_address(""), "UNIX:/tmp/t/usbmuxd");
  EXPECT_EQ(daemon_address("/other"), "/other");
  ::setenv("USBMUXD_SOCKET_ADDRESS", "", 1);
  EXPECT_EQ(daemon_address(""), "/var/run/usbmuxd");
  ::unsetenv("USBMUXD_SOCKET_ADDRESS");
}

TEST(UsbmuxdClientRequest, NamesTheProgramAsTheReferenceClientsDo) {
  plist_t dict = plist_new_dict();
  plist_dict_set_item(dict, "MessageType", plist_new_string("ListDevices"));
  const auto wire = encode_client_request(7, dict, "tether");
  ASSERT_GT(wire.size(), header_size);
  // Header: length, version 1 (plist), message 8 (plist), tag; all little-endian.
  auto u32 = [&](std::size_t at) {
    return std::to_integer<std::uint32_t>(wire[at]) |
           std::to_integer<std::uint32_t>(wire[at + 1]) << 8 |
           std::to_integer<std::uint32_t>(wire[at + 2]) << 16 |
           std::to_integer<std::uint32_t>(wire[at + 3]) << 24;
  };
  EXPECT_EQ(u32(0), wire.size());
  EXPECT_EQ(u32(4), 1u);
  EXPECT_EQ(u32(8), 8u);
  EXPECT_EQ(u32(12), 7u);
  auto body = decode_daemon_message(std::span(wire).subspan(header_size));
  ASSERT_TRUE(body) << body.describe();
  plist_t got = body->get();
  EXPECT_EQ(string_item(got, "MessageType"), "ListDevices");
  EXPECT_EQ(string_item(got, "ProgName"), "tether");
  EXPECT_EQ(string_item(got, "ClientVersionString"), "tether " TETHER_VERSION);
  EXPECT_EQ(uint_item(got, "kLibUSBMuxVersion"), 3u);
}

TEST(UsbmuxdClientReply, LengthsOutsideTheProtocolAreRefused) {
  auto header_of = [](std::uint32_t length) {
    std::array<std::byte, header_size> h{};
    for (int i = 0; i < 4; ++i) h[static_cast<std::size_t>(i)] = std::byte(length >> (8 * i));
    return h;
  };
  EXPECT_EQ(*message_length(header_of(16)), 16u);
  EXPECT_EQ(*message_length(header_of(65536)), 65536u);
  for (std::uint32_t bad : {0u, 15u, 65537u, 0xffffffffu}) {
    const auto r = message_length(header_of(bad));
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error(), errc::bad_reply_length);
    EXPECT_NE(r.detail().find(std::to_string(bad) + " bytes"), std::string::npos);
  }
}

TEST(UsbmuxdClientReply, ABodyThatIsNoDictionaryIsRefused) {
  const std::string array = R"(<?xml version="1.0"?><plist version="1.0"><array/></plist>)";
  for (const std::string& body : {std::string(), std::string("garbage"), array}) {
    const auto r = decode_daemon_message(std::as_bytes(std::span(body)));
    ASSERT_FALSE(r) << body;
    EXPECT_EQ(r.error(), errc::bad_reply);
    EXPECT_EQ(r.describe(), "the daemon sent a message that is not a plist dictionary");
  }
}

TEST(UsbmuxdClientReply, TheDaemonSideCodesHaveTheirWords) {
  EXPECT_EQ(make_error_code(errc::bad_daemon_address).message(),
            "not a usbmuxd address (a socket path or HOST:PORT)");
  EXPECT_EQ(make_error_code(errc::bad_reply_length).message(),
            "the daemon sent a message length outside 16 to 65536");
  EXPECT_EQ(make_error_code(errc::bad_reply).message(),
            "the daemon sent a message that is not a plist dictionary");
}

}  // namespace
}  // namespace tether::proto::usbmuxd
