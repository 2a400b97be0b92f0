#include "proto/usbmuxd/wire.hpp"

#include <gtest/gtest.h>

#include <string>

// The vectors here are the reference daemon's client protocol as docs/usbmux-wire.md
// section 4 sets it out, each fact with its independent source: usbmuxd 1.1.1
// src/usbmuxd-proto.h (header, message and result numbers, binary records) and
// src/client.c (client_command(): versions, results, the 64 KiB command buffer),
// libusbmuxd 2.0.2 (plist keys, the htons() port), and bytes observed on Debian 12
// between idevice_id / inetcat and usbmuxd 1.1.1. The interop suites check the same
// behaviour against the unmodified daemon and clients.
namespace tether::proto::usbmuxd {
namespace {

std::vector<std::byte> bytes_of(std::string_view s) {
  const auto b = std::as_bytes(std::span(s.data(), s.size()));
  return {b.begin(), b.end()};
}

std::vector<std::byte> message(std::uint32_t version, std::uint32_t type, std::uint32_t tag,
                               std::string_view body) {
  std::vector<std::byte> out;
  for (std::uint32_t v : {static_cast<std::uint32_t>(16 + body.size()), version, type, tag})
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::byte>(v >> (8 * i)));
  const auto b = bytes_of(body);
  out.insert(out.end(), b.begin(), b.end());
  return out;
}

std::string plist_request(std::string_view type, std::string_view extra = "") {
  return std::string(R"(<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0"><dict>
<key>MessageType</key><string>)") +
         std::string(type) + R"(</string>
<key>ClientVersionString</key><string>libusbmuxd 2.0.2</string>
<key>ProgName</key><string>idevice_id</string>
<key>kLibUSBMuxVersion</key><integer>3</integer>)" +
         std::string(extra) + "</dict></plist>";
}

request decode(const std::vector<std::byte>& m) {
  message_reader r;
  EXPECT_FALSE(r.feed(m));
  auto msg = r.next();
  EXPECT_TRUE(msg);
  auto out = decode_request(msg->head, msg->body);
  EXPECT_TRUE(out) << out.describe();
  return std::move(out).value();
}

TEST(UsbmuxdWire, ReadsTheObservedIdeviceIdRequest) {
  // idevice_id's request began "ab 01 00 00 01 00 00 00 08 00 00 00 01 00 00 00"
  // (observed on Debian 12; docs/usbmux-wire.md 4.1).
  const auto m = message(1, 8, 1, plist_request("ListDevices"));
  message_reader r;
  ASSERT_FALSE(r.feed(m));
  const auto msg = r.next();
  ASSERT_TRUE(msg);
  EXPECT_EQ(msg->head.version, 1u);
  EXPECT_EQ(msg->head.message, 8u);
  EXPECT_EQ(msg->head.tag, 1u);
  const request req = decode(m);
  EXPECT_TRUE(std::holds_alternative<requests::list_devices>(req.body));
  EXPECT_TRUE(req.plist);
  EXPECT_EQ(req.client.prog_name, "idevice_id");
  EXPECT_EQ(req.client.client_version, "libusbmuxd 2.0.2");
  EXPECT_EQ(req.client.lib_version, 3u);
}

TEST(UsbmuxdWire, PlistConnectPortIsByteSwapped) {
  // Clients send htons(port): 62078 travels as 32498, 22 as 5632 (docs/usbmux-wire.md 4.5:
  // libusbmuxd usbmuxd_connect(), usbmuxd src/client.c ntohs()).
  for (auto [wire, port] : {std::pair{32498, 62078}, std::pair{5632, 22}}) {
    const auto req = decode(message(
        1, 8, 2,
        plist_request("Connect",
                      "<key>DeviceID</key><integer>7</integer><key>PortNumber</key><integer>" +
                          std::to_string(wire) + "</integer>")));
    const auto& c = std::get<requests::connect>(req.body);
    EXPECT_EQ(c.device_id, 7u);
    EXPECT_EQ(c.port, port);
  }
}

TEST(UsbmuxdWire, ConnectWithoutDeviceOrPortSaysWhichIsMissing) {
  const auto no_dev = std::get<requests::connect>(
      decode(message(1, 8, 2,
                     plist_request("Connect", "<key>PortNumber</key><integer>5632</integer>")))
          .body);
  EXPECT_FALSE(no_dev.device_id);  // the daemon answers BADDEV
  const auto no_port = std::get<requests::connect>(
      decode(message(1, 8, 2, plist_request("Connect", "<key>DeviceID</key><integer>1</integer>")))
          .body);
  EXPECT_FALSE(no_port.port);  // BADCOMMAND
}

TEST(UsbmuxdWire, BinaryConnectAndListen) {
  std::string body = std::string("\x07\x00\x00\x00\xf2\x7e\x00\x00", 8);
  const auto c = std::get<requests::connect>(decode(message(0, 2, 5, body)).body);
  EXPECT_EQ(c.device_id, 7u);
  EXPECT_EQ(c.port, 62078);
  const auto l = decode(message(0, 3, 6, ""));
  EXPECT_TRUE(std::holds_alternative<requests::listen>(l.body));
  EXPECT_FALSE(l.plist);
  const auto u = decode(message(0, 7, 7, ""));
  EXPECT_TRUE(std::holds_alternative<requests::unknown>(u.body));  // BADCOMMAND, as observed
}

TEST(UsbmuxdWire, RejectsWhatTheReferenceRejects) {
  message_reader r;
  ASSERT_FALSE(r.feed(message(2, 8, 1, plist_request("ListDevices"))));
  auto m = r.next();
  EXPECT_EQ(decode_request(m->head, m->body).error(), errc::bad_version);
  ASSERT_FALSE(r.feed(message(1, 8, 1, "not a plist")));
  m = r.next();
  EXPECT_EQ(decode_request(m->head, m->body).error(), errc::bad_plist);
  ASSERT_FALSE(
      r.feed(message(1, 8, 1, "<plist><dict><key>Other</key><string>x</string></dict></plist>")));
  m = r.next();
  EXPECT_EQ(decode_request(m->head, m->body).error(), errc::bad_plist);
  ASSERT_FALSE(r.feed(message(0, 2, 1, "short")));
  m = r.next();
  EXPECT_EQ(decode_request(m->head, m->body).error(), errc::bad_binary_body);
}

TEST(UsbmuxdWire, ReaderRefusesBadLengthsBeforeBuffering) {
  message_reader a;
  EXPECT_EQ(a.feed(std::vector<std::byte>(16, std::byte{0})), errc::too_short);
  message_reader b;
  auto big = message(1, 8, 1, "");
  big[0] = std::byte{0x01};
  big[2] = std::byte{0x01};  // 65537
  EXPECT_EQ(b.feed(big), errc::too_long);
  EXPECT_LE(b.buffered(), 16u);
}

class UsbmuxdWireSplit : public ::testing::TestWithParam<int> {};
TEST_P(UsbmuxdWireSplit, AnyChunkingGivesTheSameMessages) {
  auto stream = message(1, 8, 1, plist_request("ReadBUID"));
  const auto second = message(0, 3, 2, "");
  stream.insert(stream.end(), second.begin(), second.end());
  const auto cut = std::min<std::size_t>(static_cast<std::size_t>(GetParam()), stream.size());
  message_reader r;
  ASSERT_FALSE(r.feed(std::span(stream).first(cut)));
  ASSERT_FALSE(r.feed(std::span(stream).subspan(cut)));
  int n = 0;
  while (auto m = r.next()) ++n;
  EXPECT_EQ(n, 2);
}
INSTANTIATE_TEST_SUITE_P(Offsets, UsbmuxdWireSplit,
                         ::testing::Values(0, 1, 15, 16, 17, 100, 300, 500, 600));

TEST(UsbmuxdWire, BinaryResultMatchesTheObservedBytes) {
  // "14 00 00 00 | 00 00 00 00 | 01 00 00 00 | tag | 02 00 00 00" for BADDEV, as Debian's
  // usbmuxd 1.1.1 answered (docs/usbmux-wire.md 4.3).
  const auto r = encode_result(9, result_code::bad_device, false);
  const std::vector<std::byte> want = {std::byte{0x14}, {}, {}, {}, {},           {}, {}, {},
                                       std::byte{1},    {}, {}, {}, std::byte{9}, {}, {}, {},
                                       std::byte{2},    {}, {}, {}};
  EXPECT_EQ(r, want);
}

TEST(UsbmuxdWire, PlistResultCarriesNumberAndSticksToVersion1) {
  const auto r = encode_result(3, result_code::connection_refused, true);
  message_reader rd;
  ASSERT_FALSE(rd.feed(r));
  const auto m = rd.next();
  EXPECT_EQ(m->head.version, 1u);
  EXPECT_EQ(m->head.message, 8u);
  EXPECT_EQ(m->head.tag, 3u);
  const std::string body(reinterpret_cast<const char*>(m->body.data()), m->body.size());
  EXPECT_NE(body.find("<key>MessageType</key>\n\t<string>Result</string>"), std::string::npos)
      << body;
  EXPECT_NE(body.find("<key>Number</key>\n\t<integer>3</integer>"), std::string::npos);
}

TEST(UsbmuxdWire, DeviceListEntriesAreAttachedMessages) {
  const device d{4, "00008120-7E7E000000000000", 0x12a8, 0x10002, 480000000};
  const auto m = encode_device_list(2, std::span(&d, 1));
  const std::string s(reinterpret_cast<const char*>(m.data()) + 16, m.size() - 16);
  EXPECT_EQ(s.find("<key>MessageType</key>\n\t<string>Result"), std::string::npos);
  for (const char* want :
       {"<key>DeviceList</key>", "<string>Attached</string>", "<key>SerialNumber</key>",
        "00008120-7E7E000000000000", "<integer>480000000</integer>", "<integer>65538</integer>",
        "<string>USB</string>", "<integer>4776</integer>"})
    EXPECT_NE(s.find(want), std::string::npos) << want;
  const auto empty = encode_device_list(2, {});
  const std::string e(reinterpret_cast<const char*>(empty.data()) + 16, empty.size() - 16);
  EXPECT_NE(e.find("<array/>"), std::string::npos) << e;
}

TEST(UsbmuxdWire, BinaryDeviceAddIs284BytesWithTheSerialAtOffset22) {
  const device d{4, "00008120-7E7E000000000000", 0x12a8, 0x10002, 480000000};
  const auto m = encode_attached(d, false);
  ASSERT_EQ(m.size(), 284u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(m.data()) + 22), d.udid);
  EXPECT_EQ(m[16], std::byte{4});
  EXPECT_EQ(m[20], std::byte{0xa8});
  EXPECT_EQ(m[280], std::byte{0x02});  // location 0x10002, little-endian
  EXPECT_EQ(m[282], std::byte{0x01});
  EXPECT_EQ(encode_detached(4, false).size(), 20u);
}

TEST(UsbmuxdWire, ListenerEntriesUseTheListenersOwnNumber) {
  client_info c;
  c.prog_name = "iproxy";
  c.lib_version = 3;
  const listener l{14, c};
  const auto m = encode_listener_list(5, std::span(&l, 1));
  const std::string s(reinterpret_cast<const char*>(m.data()) + 16, m.size() - 16);
  for (const char* want : {"<key>ListenerList</key>", "<string>14-iproxy</string>",
                           "<key>Blacklisted</key>", "<false/>", "<key>ConnType</key>"})
    EXPECT_NE(s.find(want), std::string::npos) << want << " in " << s;
}

TEST(UsbmuxdWire, SavePairRecordKeepsTheRawData) {
  const auto req =
      decode(message(1, 8, 1,
                     plist_request("SavePairRecord",
                                   "<key>PairRecordID</key><string>abc</"
                                   "string><key>PairRecordData</key><data>AAECAw==</data>"
                                   "<key>DeviceID</key><integer>2</integer>")));
  const auto& s = std::get<requests::save_pair_record>(req.body);
  EXPECT_EQ(s.id, "abc");
  EXPECT_EQ(s.data,
            (std::vector<std::byte>{std::byte{0}, std::byte{1}, std::byte{2}, std::byte{3}}));
  EXPECT_EQ(s.device_id, 2u);
}

TEST(UsbmuxdWire, PairedEventInBothProtocols) {
  // Binary: message 6 with the DeviceID as its body.
  const auto b = encode_paired(7, false);
  ASSERT_EQ(b.size(), 20u);
  EXPECT_EQ(b[8], std::byte{6});
  EXPECT_EQ(b[16], std::byte{7});
  const auto p = encode_paired(7, true);
  const std::string body(reinterpret_cast<const char*>(p.data() + 16), p.size() - 16);
  EXPECT_NE(body.find("<string>Paired</string>"), std::string::npos) << body;
  EXPECT_NE(body.find("<key>DeviceID</key>\n\t<integer>7</integer>"), std::string::npos);
}

const tetherd::request& control_of(const request& r) {
  const auto& c = std::get<requests::control>(r.body);
  EXPECT_TRUE(c.parsed) << c.parsed.describe();
  return *c.parsed;
}

std::string control_error(std::string_view type, std::string_view extra = "") {
  const auto r = decode(message(1, 8, 1, plist_request(type, extra)));
  const auto& c = std::get<requests::control>(r.body);
  EXPECT_FALSE(c.parsed);
  return c.parsed ? "" : c.parsed.describe();
}

TEST(TetherControl, ForwardAddWithEveryField) {
  const auto r = decode(message(
      1, 8, 4,
      plist_request("TetherForwardAdd",
                    "<key>LocalPort</key><integer>0</integer><key>PhonePort</key><integer>5000</"
                    "integer><key>LocalAddress</key><string>::1</string><key>UDID</key><string>"
                    "00008030-001A2B3C4D5E6F70</string><key>Name</key><string>cam</string>")));
  const auto& add = std::get<tetherd::requests::forward_add>(control_of(r));
  EXPECT_EQ(add.spec.local_port, 0);
  EXPECT_EQ(add.spec.phone_port, 5000);
  EXPECT_EQ(add.spec.bind_address, "::1");
  EXPECT_EQ(add.spec.udid, "00008030-001A2B3C4D5E6F70");
  EXPECT_EQ(add.spec.name, "cam");
}

TEST(TetherControl, ForwardAddDefaultsToLoopbackAndAnyPort) {
  const auto r = decode(message(
      1, 8, 4, plist_request("TetherForwardAdd", "<key>PhonePort</key><integer>22</integer>")));
  const auto& add = std::get<tetherd::requests::forward_add>(control_of(r));
  EXPECT_EQ(add.spec.bind_address, "127.0.0.1");
  EXPECT_EQ(add.spec.local_port, 0);
  EXPECT_TRUE(add.spec.name.empty());
}

TEST(TetherControl, BadFieldsAreNamed) {
  EXPECT_EQ(control_error("TetherForwardAdd"),
            "PhonePort is missing: which port does the phone app listen on?");
  EXPECT_EQ(control_error("TetherForwardAdd", "<key>PhonePort</key><string>22</string>"),
            "PhonePort must be a port number (1-65535)");
  EXPECT_EQ(control_error("TetherForwardAdd", "<key>PhonePort</key><integer>70000</integer>"),
            "PhonePort must be a port number (1-65535)");
  EXPECT_EQ(control_error("TetherForwardAdd",
                          "<key>PhonePort</key><integer>1</integer><key>Name</key><string>a/b"
                          "</string>"),
            "Name may hold letters, digits and - _ . : (at most 64)");
  EXPECT_EQ(control_error("TetherForwardAdd",
                          "<key>PhonePort</key><integer>1</integer><key>UDID</key><integer>1"
                          "</integer>"),
            "UDID must be a string of at most 255 characters");
  EXPECT_EQ(control_error("TetherForwardRemove"), "Name is missing: which forward to remove?");
  EXPECT_EQ(control_error("TetherSetLogLevel", "<key>Level</key><string>loud</string>"),
            "Level must be one of error, warn, info, debug");
  EXPECT_EQ(control_error("TetherReboot"), "unknown tetherd request 'TetherReboot'");
}

TEST(TetherControl, RepliesAreResultsWithPayload) {
  tetherd::forward_status f;
  f.spec.name = "cam";
  f.spec.phone_port = 5000;
  f.bound_port = 40000;
  f.state = "listening";
  const auto m = encode_plist(5, tetherd::forward_list_dict(std::span(&f, 1)));
  const std::string body(reinterpret_cast<const char*>(m.data() + 16), m.size() - 16);
  EXPECT_NE(body.find("<string>Result</string>"), std::string::npos);
  EXPECT_NE(body.find("<key>Number</key>\n\t<integer>0</integer>"), std::string::npos);
  EXPECT_NE(body.find("<key>LocalPort</key>\n\t\t\t<integer>40000</integer>"), std::string::npos)
      << body;
  const auto e = encode_plist(6, tetherd::result_dict(22, "port in use"));
  const std::string ebody(reinterpret_cast<const char*>(e.data() + 16), e.size() - 16);
  EXPECT_NE(ebody.find("<key>Error</key>\n\t<string>port in use</string>"), std::string::npos);
}

}  // namespace
}  // namespace tether::proto::usbmuxd
