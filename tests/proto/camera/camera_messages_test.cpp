#include "proto/camera/messages.hpp"

#include <gtest/gtest.h>
#include <plist/plist.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <string>

#include "proto/plist_util.hpp"
#include "tests/proto/camera/camera_examples.hpp"

namespace tether::proto::camera {
namespace {

using namespace messages;

peertalk::frame read_one(const std::vector<std::byte>& bytes) {
  peertalk::frame_reader r;
  EXPECT_FALSE(r.feed(bytes)) << r.error_text();
  auto f = r.next();
  EXPECT_TRUE(f);
  EXPECT_FALSE(r.next());
  return f ? *f : peertalk::frame{};
}

message decode_ok(const peertalk::frame& f) {
  auto d = decode(f);
  if (auto* e = std::get_if<decode_error>(&d)) {
    ADD_FAILURE() << "decode failed: " << e->text;
    return ok{};
  }
  return std::get<message>(std::move(d));
}

decode_error decode_fails(const peertalk::frame& f) {
  auto d = decode(f);
  if (!std::holds_alternative<decode_error>(d)) {
    ADD_FAILURE() << "decoded a frame that should be rejected (type " << f.type << ")";
    return {};
  }
  return std::get<decode_error>(d);
}

// A control frame with a hand-made dictionary (to get past encode()'s checks).
peertalk::frame plist_frame(frame_type t, plist_t dict, std::uint32_t tag = 1) {
  char* bin = nullptr;
  std::uint32_t len = 0;
  plist_to_bin(dict, &bin, &len);
  plist_free(dict);
  const auto* b = reinterpret_cast<const std::byte*>(bin);
  peertalk::frame f{static_cast<std::uint32_t>(t), tag, std::vector<std::byte>(b, b + len)};
  plist_to_bin_free(bin);
  return f;
}

plist_t dict_of(std::initializer_list<std::pair<const char*, plist_t>> items) {
  plist_t d = plist_new_dict();
  for (const auto& [k, v] : items) plist_dict_set_item(d, k, v);
  return d;
}
plist_t str(const std::string& s) { return plist_new_string(s.c_str()); }

// --- round trips ---------------------------------------------------------------------

TEST(CameraMessages, EveryKindRoundTrips) {
  std::set<std::size_t> kinds;
  for (const auto& ex : examples::all_kinds()) {
    SCOPED_TRACE(ex.name);
    kinds.insert(ex.msg.index());
    const auto bytes = encode(ex.msg, ex.tag);
    const auto f = read_one(bytes);
    EXPECT_EQ(f.type, static_cast<std::uint32_t>(type_of(ex.msg)));
    EXPECT_EQ(f.tag, ex.tag);
    EXPECT_EQ(decode_ok(f), ex.msg);
  }
  EXPECT_EQ(kinds.size(), std::variant_size_v<message>) << "a message kind has no sample";
}

TEST(CameraMessages, FrameTypesAreDistinctAndAbove99) {
  std::set<std::uint32_t> seen;
  for (const auto& ex : examples::all_kinds()) {
    const auto t = static_cast<std::uint32_t>(type_of(ex.msg));
    EXPECT_GE(t, 100u);
    seen.insert(t);
    EXPECT_EQ(type_name(t).find("type "), std::string::npos) << t;
  }
  EXPECT_EQ(seen.size(), std::variant_size_v<message>);
  EXPECT_EQ(type_name(0), "end_of_stream");
  EXPECT_EQ(type_name(150), "type 150");
}

TEST(CameraMessages, ControlPayloadsAreBinaryPlistDictionaries) {
  const auto f = read_one(encode(ok{}, 9));
  ASSERT_GE(f.payload.size(), 8u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(f.payload.data()), 8), "bplist00");
  plist_t root = nullptr;
  plist_from_bin(reinterpret_cast<const char*>(f.payload.data()),
                 static_cast<std::uint32_t>(f.payload.size()), &root);
  plist_ptr owner(root);
  ASSERT_NE(root, nullptr);
  EXPECT_EQ(plist_get_node_type(root), PLIST_DICT);
  EXPECT_EQ(plist_dict_get_size(root), 0u);
}

TEST(CameraMessages, ReadsTheKeysAnIosAppWrites) {
  // What a Swift app builds with PropertyListSerialization (binary format).
  const auto m = decode_ok(
      plist_frame(frame_type::hello,
                  dict_of({{"Version", plist_new_uint(1)},
                           {"Role", str("controller")},
                           {"Name", str("iPad")},
                           {"Extra", str("ignored: unknown keys are for newer versions")}})));
  EXPECT_EQ(m, message(hello{1, role::controller, "iPad", {}}));
  const auto p = decode_ok(plist_frame(frame_type::property_changed,
                                       dict_of({{"Name", str("iso")}, {"Value", str("800")}})));
  EXPECT_EQ(p, message(property_changed{{"iso", "800", {}, true}}));
  // An empty payload reads as an empty dictionary.
  EXPECT_EQ(decode_ok({static_cast<std::uint32_t>(frame_type::capture), 1, {}}),
            message{capture{}});
}

TEST(CameraMessages, UnknownErrorCodesArePreserved) {
  const error e{error_code{42}, "from a newer peer"};
  EXPECT_EQ(decode_ok(read_one(encode(e, 3))), message{e});
  EXPECT_EQ(to_string(error_code{42}), "error 42");
  EXPECT_EQ(to_string(error_code::camera_busy), "camera busy");
}

// --- exact bytes ---------------------------------------------------------------------

std::vector<std::byte> hex(std::string_view s) {
  std::vector<std::byte> out;
  for (std::size_t i = 0; i + 1 < s.size();) {
    if (s[i] == ' ') {
      ++i;
      continue;
    }
    out.push_back(static_cast<std::byte>(std::stoul(std::string(s.substr(i, 2)), nullptr, 16)));
    i += 2;
  }
  return out;
}

TEST(CameraMessages, LiveViewFrameBytes) {
  EXPECT_EQ(encode(live_view_frame{42, 0x0102030405060708, 1920, 1080, examples::tiny_jpeg()}, 0),
            hex("00000001 00000082 00000000 0000001e"  // PeerTalk: v1, type 130, tag 0, 30 bytes
                "0000002a 0102030405060708 0780 0438"  // sequence, timestamp, width, height
                "ffd8fffe 00087465 746865 72ffd9"));   // the JPEG
  // The span overload writes the same bytes, and live view always goes out with tag 0.
  EXPECT_EQ(encode_live_view_frame(42, 0x0102030405060708, 1920, 1080, examples::tiny_jpeg()),
            encode(live_view_frame{42, 0x0102030405060708, 1920, 1080, examples::tiny_jpeg()}, 0));
}

TEST(CameraMessages, ImageChunkBytes) {
  const std::vector<std::byte> data = {std::byte{0xAA}, std::byte{0xBB}, std::byte{0xCC}};
  EXPECT_EQ(encode(image_chunk{5, 0xFFFFFFFD, 0x100000000, data}, 9),
            hex("00000001 00000083 00000009 00000017"  // PeerTalk: v1, type 131, tag 9, 23 bytes
                "00000005 00000000fffffffd 0000000100000000"  // transfer, offset, total
                "aabbcc"));
  EXPECT_EQ(encode_image_chunk(9, 5, 0xFFFFFFFD, 0x100000000, data),
            encode(image_chunk{5, 0xFFFFFFFD, 0x100000000, data}, 9));
}

// PROTOCOL.md's dumps: "OOOO  xx xx ... |ascii|" lines, 16 bytes each.
std::string dump(const std::vector<std::byte>& b) {
  std::string out;
  char buf[24];
  for (std::size_t line = 0; line < b.size(); line += 16) {
    std::snprintf(buf, sizeof buf, "%04zx ", line);
    out += buf;
    std::string ascii;
    for (std::size_t i = line; i < line + 16; ++i) {
      if (i < b.size()) {
        const auto c = std::to_integer<unsigned>(b[i]);
        std::snprintf(buf, sizeof buf, " %02x", c);
        out += buf;
        ascii += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '.';
      } else {
        out += "   ";
      }
    }
    out += "  |" + ascii + "|\n";
  }
  return out;
}

std::vector<std::byte> parse_dump(const std::string& block) {
  std::vector<std::byte> out;
  std::istringstream lines(block);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream tokens(line);
    std::string tok;
    tokens >> tok;  // the offset
    while (tokens >> tok && tok[0] != '|')
      out.push_back(static_cast<std::byte>(std::stoul(tok, nullptr, 16)));
  }
  return out;
}

// The ```text block after each "<!-- example: NAME -->" line.
std::vector<std::pair<std::string, std::string>> doc_examples() {
  std::ifstream in(TETHER_CAMERA_PROTOCOL_MD);
  EXPECT_TRUE(in) << "cannot read " << TETHER_CAMERA_PROTOCOL_MD;
  std::vector<std::pair<std::string, std::string>> out;
  std::string line;
  const std::string marker = "<!-- example: ";
  while (std::getline(in, line)) {
    if (line.rfind(marker, 0) != 0) continue;
    const std::string name =
        line.substr(marker.size(), line.find(' ', marker.size()) - marker.size());
    std::string block;
    bool inside = false;
    while (std::getline(in, line)) {
      if (line.rfind("```", 0) == 0) {
        if (inside) break;
        inside = true;
        continue;
      }
      if (inside) block += line + "\n";
    }
    out.emplace_back(name, block);
  }
  return out;
}

TEST(CameraMessages, ProtocolDocumentDumpsMatchTheEncoder) {
  // TETHER_PRINT_EXAMPLES=1 prints the blocks to paste into PROTOCOL.md (after a
  // deliberate change of the encoding, or of libplist's output).
  const auto ex = examples::documented();
  if (std::getenv("TETHER_PRINT_EXAMPLES") != nullptr)
    for (const auto& e : ex)
      std::printf("<!-- example: %s -->\n```text\n%s```\n\n", e.name.c_str(),
                  dump(encode(e.msg, e.tag)).c_str());
  const auto doc = doc_examples();
  ASSERT_EQ(doc.size(), ex.size()) << "PROTOCOL.md should show every documented example";
  for (std::size_t i = 0; i < ex.size(); ++i) {
    SCOPED_TRACE(ex[i].name);
    EXPECT_EQ(doc[i].first, ex[i].name);
    const auto bytes = encode(ex[i].msg, ex[i].tag);
    EXPECT_EQ(parse_dump(doc[i].second), bytes) << "expected:\n" << dump(bytes);
    EXPECT_EQ(doc[i].second, dump(bytes));  // the ASCII column too
    EXPECT_EQ(decode_ok(read_one(parse_dump(doc[i].second))), ex[i].msg);
  }
}

TEST(CameraMessages, ProtocolDocumentFrameTableMatchesTheCodec) {
  // Rows "| 103 | `set_property` | ..." of the frame-type table.
  std::ifstream in(TETHER_CAMERA_PROTOCOL_MD);
  std::string line;
  std::set<std::uint32_t> documented;
  while (std::getline(in, line)) {
    unsigned type = 0;
    char name[40] = {};
    if (std::sscanf(line.c_str(), "| %u | `%39[a-z_]` |", &type, name) != 2) continue;
    EXPECT_EQ(type_name(type), name) << line;
    documented.insert(type);
  }
  EXPECT_EQ(documented.size(), std::variant_size_v<message>);
  for (const auto& ex : examples::all_kinds())
    EXPECT_TRUE(documented.count(static_cast<std::uint32_t>(type_of(ex.msg)))) << ex.name;
}

// --- bounds --------------------------------------------------------------------------

void expect_bound(const message& at_max, const message& over, const std::string& text) {
  EXPECT_FALSE(validate(at_max)) << validate(at_max)->text;
  EXPECT_EQ(decode_ok(read_one(encode(at_max, 1))), at_max);
  const auto e = validate(over);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, error_code::bad_request);
  EXPECT_NE(e->text.find(text), std::string::npos) << e->text;
  EXPECT_THROW((void)encode(over, 1), std::invalid_argument);
}

TEST(CameraMessages, EveryStringAndListIsBounded) {
  const std::string s64(64, 'a'), s65(65, 'a');
  expect_bound(hello{1, role::camera, s64, {}}, hello{1, role::camera, s65, {}},
               "hello: Name is 65 bytes, more than 64");
  expect_bound(hello{1, role::camera, "", std::vector<std::string>(32, "x")},
               hello{1, role::camera, "", std::vector<std::string>(33, "x")},
               "Capabilities has 33 entries, more than 32");
  expect_bound(hello{1, role::camera, "", {std::string(32, 'c')}},
               hello{1, role::camera, "", {std::string(33, 'c')}},
               "Capabilities[0] is 33 bytes, more than 32");
  expect_bound(set_property{std::string(32, 'p'), s64}, set_property{std::string(33, 'p'), s64},
               "Name is 33 bytes, more than 32");
  expect_bound(set_property{"iso", s64}, set_property{"iso", s65},
               "set_property: Value is 65 bytes, more than 64");
  expect_bound(property_set{"iso", s64, s64}, property_set{"iso", s64, s65}, "Applied is 65 bytes");
  property big{"iso", "1", std::vector<std::string>(256, s64), true};
  property bigger = big;
  bigger.allowed.push_back("1");
  expect_bound(property_changed{big}, property_changed{bigger},
               "Allowed has 257 entries, more than 256");
  expect_bound(properties{std::vector<property>(64, examples::iso_property())},
               properties{std::vector<property>(65, examples::iso_property())},
               "Properties has 65 entries, more than 64");
  property long_allowed = examples::iso_property();
  long_allowed.allowed[3] = s65;
  expect_bound(properties{{examples::iso_property()}}, properties{{long_allowed}},
               "properties: Properties[0]: Allowed[3] is 65 bytes");
  expect_bound(error{error_code::internal, std::string(1024, 'm')},
               error{error_code::internal, std::string(1025, 'm')}, "Message is 1025 bytes");
  expect_bound(camera_lost{std::string(1024, 'r')}, camera_lost{std::string(1025, 'r')},
               "Reason is 1025 bytes");
  expect_bound(camera_attached{std::string(128, 'm'), std::string(128, 's')},
               camera_attached{std::string(128, 'm'), std::string(129, 's')},
               "Serial is 129 bytes");
  expect_bound(capture_done{1, std::string(255, 'f'), 0, "image/jpeg"},
               capture_done{1, std::string(256, 'f'), 0, "image/jpeg"}, "FileName is 256 bytes");
  expect_bound(capture_done{1, "a.jpg", 0, std::string(127, 'm')},
               capture_done{1, "a.jpg", 0, std::string(128, 'm')}, "MimeType is 128 bytes");
  expect_bound(capture_done{1, "a.jpg", max_file_size, "image/jpeg"},
               capture_done{1, "a.jpg", max_file_size + 1, "image/jpeg"},
               "Size is 4294967297, more than 4294967296");
}

TEST(CameraMessages, LiveViewAndChunkSizesAreBounded) {
  auto jpeg = examples::tiny_jpeg();
  jpeg.resize(max_jpeg);
  auto over = jpeg;
  over.push_back(std::byte{0});
  expect_bound(live_view_frame{1, 2, 640, 480, jpeg}, live_view_frame{1, 2, 640, 480, over},
               "JPEG is 8388609 bytes, more than 8388608");
  const std::vector<std::byte> chunk(max_chunk), big_chunk(max_chunk + 1);
  expect_bound(image_chunk{1, 0, max_chunk, chunk}, image_chunk{1, 0, max_chunk + 1, big_chunk},
               "chunk data is 1048577 bytes, more than 1048576");
  expect_bound(image_chunk{1, max_file_size - 1, max_file_size, {std::byte{1}}},
               image_chunk{1, max_file_size, max_file_size + 1, {std::byte{1}}},
               "total size 4294967297 is more than 4294967296");
  // The frame reader bound (16 MiB) is above every message's bound.
  EXPECT_GT(peertalk::default_max_payload, max_jpeg + live_view_header_size);
}

TEST(CameraMessages, BoundsAreEnforcedOnDecodeToo) {
  // Hand-made frames that encode() would refuse.
  auto e = decode_fails(
      plist_frame(frame_type::set_property,
                  dict_of({{"Name", str("iso")}, {"Value", str(std::string(65, '1'))}})));
  EXPECT_EQ(e.code, error_code::bad_request);
  EXPECT_EQ(e.text, "set_property: Value is 65 bytes, more than 64");
  plist_t caps = plist_new_array();
  for (int i = 0; i < 33; ++i) plist_array_append_item(caps, str("x"));
  e = decode_fails(plist_frame(frame_type::hello, dict_of({{"Version", plist_new_uint(1)},
                                                           {"Role", str("camera")},
                                                           {"Name", str("")},
                                                           {"Capabilities", caps}})));
  EXPECT_EQ(e.text, "hello: Capabilities has 33 entries, more than 32");
  // A control payload above 1 MiB is refused before parsing.
  peertalk::frame huge{static_cast<std::uint32_t>(frame_type::hello), 1,
                       std::vector<std::byte>(max_plist_payload + 1)};
  EXPECT_NE(decode_fails(huge).text.find("more than 1048576"), std::string::npos);
  // A live-view JPEG above 8 MiB.
  auto lv = encode(live_view_frame{1, 2, 3, 4, examples::tiny_jpeg()}, 0);
  auto f = read_one(lv);
  f.payload.resize(live_view_header_size + max_jpeg + 1);
  EXPECT_NE(decode_fails(f).text.find("JPEG is 8388609 bytes"), std::string::npos);
}

// --- wrong types, missing fields, bad values ----------------------------------------

void expect_rejected(const peertalk::frame& f, error_code code, const std::string& text) {
  const auto e = decode_fails(f);
  EXPECT_EQ(e.code, code) << e.text;
  EXPECT_EQ(e.text, text);
}

TEST(CameraMessages, MissingFieldsAreNamed) {
  expect_rejected(
      plist_frame(frame_type::hello, dict_of({{"Version", plist_new_uint(1)}, {"Name", str("x")}})),
      error_code::bad_request, "hello: Role is missing");
  expect_rejected(plist_frame(frame_type::set_property, dict_of({{"Name", str("iso")}})),
                  error_code::bad_request, "set_property: Value is missing");
  expect_rejected(plist_frame(frame_type::property_set,
                              dict_of({{"Name", str("iso")}, {"Requested", str("400")}})),
                  error_code::bad_request, "property_set: Applied is missing");
  expect_rejected(plist_frame(frame_type::download, dict_of({})), error_code::bad_request,
                  "download: TransferID is missing");
  expect_rejected(plist_frame(frame_type::error, dict_of({{"Code", plist_new_uint(4)}})),
                  error_code::bad_request, "error: Message is missing");
  expect_rejected(plist_frame(frame_type::capture_done, dict_of({{"TransferID", plist_new_uint(1)},
                                                                 {"FileName", str("a.jpg")},
                                                                 {"MimeType", str("image/jpeg")}})),
                  error_code::bad_request, "capture_done: Size is missing");
  expect_rejected(plist_frame(frame_type::properties, dict_of({})), error_code::bad_request,
                  "properties: Properties is missing");
  expect_rejected(plist_frame(frame_type::focus_step, dict_of({{"Direction", str("near")}})),
                  error_code::bad_request, "focus_step: Size is missing");
}

TEST(CameraMessages, WrongTypesAreNamed) {
  expect_rejected(
      plist_frame(frame_type::hello,
                  dict_of({{"Version", str("1")}, {"Role", str("camera")}, {"Name", str("x")}})),
      error_code::bad_request, "hello: Version must be an unsigned integer");
  expect_rejected(plist_frame(frame_type::set_property,
                              dict_of({{"Name", str("iso")}, {"Value", plist_new_uint(400)}})),
                  error_code::bad_request, "set_property: Value must be a string");
  expect_rejected(
      plist_frame(
          frame_type::property_changed,
          dict_of({{"Name", str("iso")}, {"Value", str("400")}, {"Allowed", str("100,200")}})),
      error_code::bad_request, "property_changed: Allowed must be an array of strings");
  plist_t mixed = plist_new_array();
  plist_array_append_item(mixed, str("100"));
  plist_array_append_item(mixed, plist_new_uint(200));
  expect_rejected(
      plist_frame(frame_type::property_changed,
                  dict_of({{"Name", str("iso")}, {"Value", str("400")}, {"Allowed", mixed}})),
      error_code::bad_request, "property_changed: Allowed[1] must be a string");
  expect_rejected(
      plist_frame(
          frame_type::property_changed,
          dict_of({{"Name", str("iso")}, {"Value", str("400")}, {"Writable", plist_new_uint(1)}})),
      error_code::bad_request, "property_changed: Writable must be a boolean");
  plist_t props = plist_new_array();
  plist_array_append_item(props, str("iso"));
  expect_rejected(plist_frame(frame_type::properties, dict_of({{"Properties", props}})),
                  error_code::bad_request, "properties: Properties[0]: must be a dictionary");
  expect_rejected(
      plist_frame(frame_type::download, dict_of({{"TransferID", plist_new_uint(1ull << 32)}})),
      error_code::bad_request, "download: TransferID is 4294967296, more than 4294967295");
  expect_rejected(
      plist_frame(frame_type::download, dict_of({{"TransferID", plist_new_uint(UINT64_MAX)}})),
      error_code::bad_request,
      "download: TransferID is 18446744073709551615, more than 4294967295");
}

TEST(CameraMessages, BadValuesAreNamed) {
  expect_rejected(
      plist_frame(
          frame_type::hello,
          dict_of({{"Version", plist_new_uint(1)}, {"Role", str("viewer")}, {"Name", str("x")}})),
      error_code::bad_request, "hello: Role must be \"camera\" or \"controller\", not \"viewer\"");
  expect_rejected(
      plist_frame(
          frame_type::hello,
          dict_of({{"Version", plist_new_uint(0)}, {"Role", str("camera")}, {"Name", str("x")}})),
      error_code::bad_request, "hello: Version must be 1 or more");
  expect_rejected(plist_frame(frame_type::focus_step,
                              dict_of({{"Direction", str("near")}, {"Size", str("huge")}})),
                  error_code::bad_request,
                  "focus_step: Size must be \"small\", \"medium\" or \"large\", not \"huge\"");
  expect_rejected(
      plist_frame(frame_type::set_property, dict_of({{"Name", str("ISO")}, {"Value", str("400")}})),
      error_code::bad_request, "set_property: Name 'ISO' may hold only a-z, 0-9 and _");
  expect_rejected(plist_frame(frame_type::get_properties, dict_of({{"Name", str("")}})),
                  error_code::bad_request,
                  "get_properties: Name is empty (leave it out to get all properties)");
  expect_rejected(plist_frame(frame_type::download, dict_of({{"TransferID", plist_new_uint(0)}})),
                  error_code::bad_request, "download: TransferID must not be 0");
  expect_rejected(
      plist_frame(frame_type::error, dict_of({{"Code", plist_new_uint(0)}, {"Message", str("")}})),
      error_code::bad_request, "error: Code must not be 0");
  expect_rejected(plist_frame(frame_type::capture_done, dict_of({{"TransferID", plist_new_uint(1)},
                                                                 {"FileName", str("../etc/passwd")},
                                                                 {"Size", plist_new_uint(1)},
                                                                 {"MimeType", str("image/jpeg")}})),
                  error_code::bad_request,
                  "capture_done: FileName must be a plain file name, without '/'");
  // A string with a lone lead byte: write "cafX" and patch the X in the plist bytes.
  auto lost = plist_frame(frame_type::camera_lost, dict_of({{"Reason", str("cafX")}}));
  const auto x = std::find(lost.payload.begin(), lost.payload.end(), std::byte{'X'});
  ASSERT_NE(x, lost.payload.end());
  *x = std::byte{0xC3};
  expect_rejected(lost, error_code::bad_request,
                  "camera_lost: Reason is not UTF-8 text (or holds a NUL)");
}

TEST(CameraMessages, EncodeRefusesWhatDecodeWouldReject) {
  EXPECT_THROW((void)encode(set_property{"Bad Name", "1"}, 1), std::invalid_argument);
  EXPECT_THROW((void)encode(hello{1, role::camera, std::string("a\0b", 3), {}}, 0),
               std::invalid_argument);
  EXPECT_THROW((void)encode(focus_step{focus_direction{7}, focus_size::small}, 1),
               std::invalid_argument);
  EXPECT_THROW((void)encode(download{0, 0}, 1), std::invalid_argument);
  EXPECT_THROW((void)encode_live_view_frame(1, 1, 0, 480, examples::tiny_jpeg()),
               std::invalid_argument);
  EXPECT_THROW((void)encode_image_chunk(1, 1, 10, 11, std::vector<std::byte>(2)),
               std::invalid_argument);
}

TEST(CameraMessages, MalformedPayloadsAreBadRequests) {
  const auto t = static_cast<std::uint32_t>(frame_type::set_property);
  const std::string xml = "<?xml version=\"1.0\"?><plist><dict/></plist>";
  const auto* x = reinterpret_cast<const std::byte*>(xml.data());
  expect_rejected({t, 1, {x, x + xml.size()}}, error_code::bad_request,
                  "set_property: payload is not a binary plist (no bplist00 magic)");
  auto f = plist_frame(frame_type::set_property, dict_of({{"Name", str("iso")}}));
  f.payload.resize(12);
  expect_rejected(f, error_code::bad_request, "set_property: binary plist does not parse");
  plist_t arr = plist_new_array();
  f = plist_frame(frame_type::set_property, arr);
  expect_rejected(f, error_code::bad_request, "set_property: binary plist is not a dictionary");
  // Binary messages shorter than their header.
  expect_rejected(
      {static_cast<std::uint32_t>(frame_type::live_view_frame), 0, std::vector<std::byte>(15)},
      error_code::bad_request,
      "live_view_frame: payload of 15 bytes is shorter than its 16-byte header");
  expect_rejected(
      {static_cast<std::uint32_t>(frame_type::image_chunk), 0, std::vector<std::byte>(19)},
      error_code::bad_request,
      "image_chunk: payload of 19 bytes is shorter than its 20-byte header");
  auto lv = read_one(encode(live_view_frame{1, 2, 3, 4, examples::tiny_jpeg()}, 0));
  lv.payload[16] = std::byte{0};
  expect_rejected(lv, error_code::bad_request, "live_view_frame: JPEG does not start with FF D8");
  auto chunk = read_one(encode(image_chunk{1, 0, 3, {std::byte{1}, std::byte{2}}}, 4));
  chunk.payload[19] = std::byte{1};  // total size 3 -> 1
  expect_rejected(chunk, error_code::bad_request,
                  "image_chunk: chunk of 2 bytes at offset 0 runs past the total size 1");
}

TEST(CameraMessages, UnknownTypesAreNotSupported) {
  expect_rejected({150, 3, {}}, error_code::not_supported,
                  "frame type 150 is not part of the camera protocol version 1");
  expect_rejected({114, 3, {}}, error_code::not_supported,
                  "frame type 114 is not part of the camera protocol version 1");
  expect_rejected({125, 0, {}}, error_code::not_supported,
                  "frame type 125 is not part of the camera protocol version 1");
  expect_rejected({0, 0, {}}, error_code::bad_request,
                  "end of stream (frame type 0) is not a message: close the channel");
}

TEST(CameraMessages, LiveViewPacingAndStatsAreChecked) {
  // MaxInFlight: absent means no acknowledgements; 1..16 otherwise.
  EXPECT_EQ(decode_ok(plist_frame(frame_type::start_live_view, dict_of({}))),
            message{start_live_view{0}});
  EXPECT_EQ(decode_ok(plist_frame(frame_type::start_live_view,
                                  dict_of({{"MaxInFlight", plist_new_uint(16)}}))),
            message{start_live_view{16}});
  expect_rejected(
      plist_frame(frame_type::start_live_view, dict_of({{"MaxInFlight", plist_new_uint(17)}})),
      error_code::bad_request, "start_live_view: MaxInFlight is 17, more than 16");
  EXPECT_THROW((void)encode(start_live_view{17}, 1), std::invalid_argument);
  expect_rejected(plist_frame(frame_type::live_view_ack, dict_of({}), 0), error_code::bad_request,
                  "live_view_ack: Sequence is missing");
  // A Swift Double that happens to be whole may arrive as an integer.
  auto stats = [](plist_t fps) {
    return plist_frame(frame_type::live_view_stats,
                       dict_of({{"Fps", fps},
                                {"CameraFps", plist_new_real(30)},
                                {"MeanAgeMs", plist_new_real(1.5)},
                                {"MaxAgeMs", plist_new_real(2)},
                                {"Delivered", plist_new_uint(30)},
                                {"Dropped", plist_new_uint(0)}}),
                       0);
  };
  EXPECT_EQ(decode_ok(stats(plist_new_uint(30))), message(live_view_stats{30, 30, 1.5, 2, 30, 0}));
  expect_rejected(stats(plist_new_real(-1)), error_code::bad_request,
                  "live_view_stats: Fps must be a number from 0 to 1e9");
  expect_rejected(stats(plist_new_real(std::numeric_limits<double>::quiet_NaN())),
                  error_code::bad_request, "live_view_stats: Fps must be a number from 0 to 1e9");
  expect_rejected(stats(str("fast")), error_code::bad_request,
                  "live_view_stats: Fps must be a number");
}

TEST(CameraMessages, AnAckCoversEarlierFramesAcrossTheWrap) {
  const messages::live_view_ack ack{42};
  EXPECT_TRUE(ack.covers(42));
  EXPECT_TRUE(ack.covers(1));
  EXPECT_FALSE(ack.covers(43));
  // Frame 4294967295 came just before frame 0; an ack of 1 covers both.
  const messages::live_view_ack after_wrap{1};
  EXPECT_TRUE(after_wrap.covers(0xffffffffu));
  EXPECT_TRUE(after_wrap.covers(0xfffffff0u));
  EXPECT_FALSE((messages::live_view_ack{0xffffffffu}.covers(0)));
  EXPECT_FALSE((messages::live_view_ack{0xffffffffu}.covers(5)));
}

TEST(CameraMessages, KnownProperties) {
  EXPECT_EQ(std::size(known_properties), 9u);
  for (auto p : known_properties) EXPECT_TRUE(is_known_property(p));
  EXPECT_FALSE(is_known_property("zoom"));
}

}  // namespace
}  // namespace tether::proto::camera
