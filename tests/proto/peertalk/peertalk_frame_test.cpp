#include "proto/peertalk/frame.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace tether::proto::peertalk {
namespace {

std::vector<std::byte> bytes_of(std::string_view s) {
  const auto b = std::as_bytes(std::span(s.data(), s.size()));
  return {b.begin(), b.end()};
}

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

std::vector<frame> read_all(frame_reader& r) {
  std::vector<frame> out;
  while (auto f = r.next()) out.push_back(std::move(*f));
  return out;
}

TEST(PeerTalkFrame, EncodesBigEndianHeaderThenPayload) {
  // PTExampleProtocol's TextMessage (type 101) with tag 7 and payload "hi".
  EXPECT_EQ(encode_frame(101, 7, bytes_of("hi")), hex("00000001 00000065 00000007 00000002 6869"));
  // Ping (102): no payload.
  EXPECT_EQ(encode_frame(102, 0x01020304, {}), hex("00000001 00000066 01020304 00000000"));
  const auto h = encode_header(130, 0, 0xA0B0C0D0);
  EXPECT_EQ(std::vector<std::byte>(h.begin(), h.end()), hex("00000001 00000082 00000000 A0B0C0D0"));
}

TEST(PeerTalkFrame, ReadsWhatItWrites) {
  frame_reader r;
  auto a = encode_frame(100, 1, bytes_of("hello"));
  ASSERT_FALSE(r.feed(a));
  const auto frames = read_all(r);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0], (frame{100, 1, bytes_of("hello")}));
  EXPECT_EQ(r.buffered(), 0u);
  EXPECT_FALSE(r.finish());
}

std::vector<std::byte> sample_stream() {
  std::vector<std::byte> s;
  std::vector<std::byte> big(3000);
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<std::byte>(i * 13);
  for (const auto& f : {encode_frame(100, 1, bytes_of("first")), encode_frame(102, 2, {}),
                        encode_frame(130, 0, big), encode_frame(103, 0xFFFFFFFF, bytes_of("x"))})
    s.insert(s.end(), f.begin(), f.end());
  return s;
}

TEST(PeerTalkFrame, AnyTwoPieceSplitGivesTheSameFrames) {
  const auto stream = sample_stream();
  frame_reader whole;
  ASSERT_FALSE(whole.feed(stream));
  const auto expected = read_all(whole);
  ASSERT_EQ(expected.size(), 4u);
  for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
    frame_reader r;
    std::vector<frame> got;
    ASSERT_FALSE(r.feed(std::span(stream).first(cut)));
    for (auto& f : read_all(r)) got.push_back(std::move(f));
    ASSERT_FALSE(r.feed(std::span(stream).subspan(cut)));
    for (auto& f : read_all(r)) got.push_back(std::move(f));
    ASSERT_EQ(got, expected) << "cut at " << cut;
    EXPECT_EQ(r.buffered(), 0u);
  }
}

TEST(PeerTalkFrame, ByteByByteGivesTheSameFrames) {
  const auto stream = sample_stream();
  frame_reader whole;
  ASSERT_FALSE(whole.feed(stream));
  const auto expected = read_all(whole);
  frame_reader r;
  std::vector<frame> got;
  for (std::size_t i = 0; i < stream.size(); ++i) {
    ASSERT_FALSE(r.feed(std::span(stream).subspan(i, 1)));
    EXPECT_LE(r.buffered(), header_size + 3000);
    for (auto& f : read_all(r)) got.push_back(std::move(f));
  }
  EXPECT_EQ(got, expected);
}

TEST(PeerTalkFrame, RejectsAnotherVersionAndSaysWhich) {
  frame_reader r;
  auto f = encode_frame(100, 1, bytes_of("x"));
  f[3] = std::byte{2};
  EXPECT_EQ(r.feed(f), errc::bad_version);
  EXPECT_NE(r.error_text().find("version 2, expected 1"), std::string::npos) << r.error_text();
  EXPECT_FALSE(r.next());
  // Little-endian version 1 (a usbmuxd header by mistake) is version 16777216 here.
  frame_reader le;
  EXPECT_EQ(le.feed(hex("01000000 08000000 01000000 10000000")), errc::bad_version);
  EXPECT_NE(le.error_text().find("16777216"), std::string::npos);
}

TEST(PeerTalkFrame, FramesBeforeABadHeaderAreStillDelivered) {
  auto s = encode_frame(100, 1, bytes_of("ok"));
  const auto bad = hex("00000002 00000064 00000000 00000000");
  s.insert(s.end(), bad.begin(), bad.end());
  frame_reader r;
  EXPECT_EQ(r.feed(s), errc::bad_version);
  EXPECT_TRUE(r.next());
  EXPECT_FALSE(r.next());
}

TEST(PeerTalkFrame, EnforcesThePayloadBound) {
  frame_reader r(100);
  ASSERT_FALSE(r.feed(encode_frame(100, 1, std::vector<std::byte>(100))));
  EXPECT_TRUE(r.next());
  EXPECT_EQ(r.feed(encode_header(130, 0, 101)), errc::payload_too_large);
  EXPECT_NE(r.error_text().find("type 130 announces 101 payload bytes, more than the limit of 100"),
            std::string::npos)
      << r.error_text();
  EXPECT_EQ(r.buffered(), 0u);
  // Sticky: later input is dropped, not buffered.
  EXPECT_EQ(r.feed(encode_frame(100, 1, {})), errc::payload_too_large);
  EXPECT_FALSE(r.next());
  EXPECT_EQ(r.buffered(), 0u);
}

TEST(PeerTalkFrame, DefaultBoundIs16MiB) {
  frame_reader r;
  EXPECT_EQ(r.max_payload(), 16u << 20);
  EXPECT_FALSE(r.feed(encode_header(130, 0, 16u << 20)));
  frame_reader r2;
  EXPECT_EQ(r2.feed(encode_header(130, 0, (16u << 20) + 1)), errc::payload_too_large);
  frame_reader r3;
  EXPECT_EQ(r3.feed(encode_header(130, 0, UINT32_MAX)), errc::payload_too_large);
}

TEST(PeerTalkFrame, BuffersAtMostOneFrame) {
  frame_reader r(1000);
  const auto h = encode_header(131, 1, 1000);
  ASSERT_FALSE(r.feed(h));
  ASSERT_FALSE(r.feed(std::vector<std::byte>(999)));
  EXPECT_EQ(r.buffered(), header_size + 999);
  EXPECT_FALSE(r.next());
  ASSERT_FALSE(r.feed(std::vector<std::byte>(1)));
  EXPECT_EQ(r.buffered(), 0u);
  const auto f = r.next();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->payload.size(), 1000u);
}

TEST(PeerTalkFrame, EndOfStreamFrameEndsTheStream) {
  auto s = encode_frame(100, 1, bytes_of("a"));
  const auto eos = encode_frame(end_of_stream, 0, {});
  s.insert(s.end(), eos.begin(), eos.end());
  const auto after = encode_frame(100, 2, bytes_of("b"));
  s.insert(s.end(), after.begin(), after.end());
  frame_reader r;
  EXPECT_FALSE(r.feed(s));
  EXPECT_TRUE(r.ended());
  const auto frames = read_all(r);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[1].type, end_of_stream);
  EXPECT_EQ(r.buffered(), 0u);
  EXPECT_FALSE(r.finish());
}

TEST(PeerTalkFrame, EofInsideAFrameIsTruncated) {
  {
    frame_reader r;
    ASSERT_FALSE(r.feed(hex("00000001 0000")));
    EXPECT_EQ(r.finish(), errc::truncated);
    EXPECT_NE(r.error_text().find("6 of the 16 bytes"), std::string::npos) << r.error_text();
  }
  {
    frame_reader r;
    const auto f = encode_frame(131, 3, std::vector<std::byte>(10));
    ASSERT_FALSE(r.feed(std::span(f).first(header_size + 6)));
    EXPECT_EQ(r.finish(), errc::truncated);
    EXPECT_NE(r.error_text().find("after 6 of 10 payload bytes"), std::string::npos)
        << r.error_text();
  }
  {
    frame_reader r;
    EXPECT_FALSE(r.finish());  // EOF at a frame boundary is a clean end
  }
}

TEST(PeerTalkFrame, ErrorCodesHaveMessages) {
  EXPECT_EQ(std::error_code(errc::bad_version).category().name(), std::string("tether.peertalk"));
  for (auto e : {errc::bad_version, errc::payload_too_large, errc::truncated})
    EXPECT_FALSE(std::error_code(e).message().empty());
}

}  // namespace
}  // namespace tether::proto::peertalk
