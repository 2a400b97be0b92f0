#include "phone/bulk_out_reads.hpp"

#include <gtest/gtest.h>

#include "phone/virtual_phone.hpp"
#include "usbmux/core/host_session.hpp"

namespace tether::sim {
namespace {

// A mux packet of `length` bytes: a v1 header (protocol 6) and filler.
std::vector<std::byte> packet(std::size_t length) {
  std::vector<std::byte> p(length, std::byte{0x5a});
  const std::uint32_t l = static_cast<std::uint32_t>(length);
  p[0] = p[1] = p[2] = std::byte{0};
  p[3] = std::byte{6};
  p[4] = static_cast<std::byte>(l >> 24);
  p[5] = static_cast<std::byte>(l >> 16);
  p[6] = static_cast<std::byte>(l >> 8);
  p[7] = static_cast<std::byte>(l);
  return p;
}

std::vector<std::size_t> sizes(const std::vector<std::vector<std::byte>>& reads) {
  std::vector<std::size_t> v;
  for (const auto& r : reads) v.push_back(r.size());
  return v;
}

using sz = std::vector<std::size_t>;

TEST(BulkOutReads, AShortPacketEndsTheRead) {
  bulk_out_reads r(512, phone_read_size);
  EXPECT_EQ(sizes(r.transfer(packet(20), false)), sz{20});
  EXPECT_EQ(sizes(r.transfer(packet(1000), false)), sz{1000});
  EXPECT_EQ(r.pending(), 0u);
}

TEST(BulkOutReads, AFullPacketTransferWaitsForItsZlp) {
  bulk_out_reads r(512, phone_read_size);
  EXPECT_TRUE(r.transfer(packet(49152), false).empty());  // 96 full packets, no end yet
  EXPECT_EQ(r.pending(), 49152u);
  EXPECT_EQ(sizes(r.transfer({}, false)), sz{49152});  // usbmuxd's separate ZLP
}

TEST(BulkOutReads, TheZeroPacketFlagEndsTheRead) {
  bulk_out_reads r(512, phone_read_size);
  EXPECT_EQ(sizes(r.transfer(packet(49152), true)), sz{49152});  // libusb's ADD_ZERO_PACKET
  EXPECT_EQ(sizes(r.transfer(packet(1024), true)), sz{1024});
  EXPECT_EQ(r.pending(), 0u);
}

TEST(BulkOutReads, SuperSpeedPacketsAre1024) {
  bulk_out_reads r(1024, phone_read_size);
  EXPECT_EQ(sizes(r.transfer(packet(512), false)), sz{512});  // short at SuperSpeed
  EXPECT_TRUE(r.transfer(packet(2048), false).empty());
  EXPECT_EQ(sizes(r.transfer(packet(20), false)), sz{2048 + 20});  // glued
}

TEST(BulkOutReads, WithoutAZlpTheNextPacketIsGluedOn) {
  bulk_out_reads r(512, phone_read_size);
  EXPECT_TRUE(r.transfer(packet(1024), false).empty());
  const auto reads = r.transfer(packet(36), false);
  ASSERT_EQ(sizes(reads), sz{1060});
  EXPECT_EQ(judge_mux_read(reads[0]).what, mux_read_verdict::kind::mismatch);
}

TEST(BulkOutReads, AFullBufferEndsTheReadAndTheRestStartsTheNext) {
  bulk_out_reads r(512, phone_read_size);
  EXPECT_TRUE(r.transfer(packet(49152), false).empty());
  // The second full packet fills the 64 KiB buffer; its remaining 32 KiB wait.
  EXPECT_EQ(sizes(r.transfer(packet(49152), false)), sz{65536});
  EXPECT_EQ(r.pending(), 2 * 49152u - 65536u);
  EXPECT_EQ(sizes(r.transfer(packet(100), false)), sz{2 * 49152 - 65536 + 100});
}

TEST(BulkOutReads, AZlpRightAfterAFullBufferEndsAnEmptyRead) {
  bulk_out_reads r(512, 1024);
  EXPECT_EQ(sizes(r.transfer(packet(1024), true)), (sz{1024, 0}));
  EXPECT_EQ(judge_mux_read({}).what, mux_read_verdict::kind::empty);
}

TEST(BulkOutReads, ResetLosesAPartialRead) {
  bulk_out_reads r(512, phone_read_size);
  EXPECT_TRUE(r.transfer(packet(512), false).empty());
  r.reset();
  EXPECT_EQ(sizes(r.transfer(packet(20), false)), sz{20});
}

TEST(MuxReadVerdict, OneWholePacketIsTaken) {
  EXPECT_EQ(judge_mux_read(packet(20)).what, mux_read_verdict::kind::packet);
  EXPECT_EQ(judge_mux_read(packet(65535)).what, mux_read_verdict::kind::packet);
}

TEST(MuxReadVerdict, OverMaxIsRefusedWithThePhonesText) {
  const auto v = judge_mux_read(std::vector<std::byte>(65536));
  EXPECT_EQ(v.what, mux_read_verdict::kind::too_large);
  EXPECT_EQ(v.control_text, "asyncReadComplete, message was too large (65536 bytes, max = 65535)");
}

TEST(MuxReadVerdict, AReadShorterOrLongerThanItsHeaderIsDropped) {
  auto p = packet(100);
  EXPECT_EQ(judge_mux_read(std::span(p).first(60)).what, mux_read_verdict::kind::mismatch);
  p.resize(140);
  EXPECT_EQ(judge_mux_read(p).what, mux_read_verdict::kind::mismatch);
  EXPECT_EQ(judge_mux_read(std::span(p).first(5)).what, mux_read_verdict::kind::mismatch);
}

// The phone end to end: a host session's full-size packets, with and without ZLPs.
class PhoneReads : public ::testing::Test {
 protected:
  PhoneReads() : phone(iphone_identity{}, {}) { phone.add_app(5001, make_sink_app()); }

  // Moves everything both ways; OUT transfers carry the ZLP flag when `zlp` says so.
  void pump(bool zlp) {
    for (int guard = 0; guard < 10000; ++guard) {
      bool moved = false;
      while (std::size_t n = host.pull_packet(out)) {
        ASSERT_TRUE(
            phone.bulk_out(usbmux_out_endpoint, std::span(out).first(n), zlp && n % 512 == 0));
        moved = true;
      }
      while (auto n = phone.bulk_in(usbmux_in_endpoint, in)) {
        (void)host.receive(std::span(in).first(*n));
        moved = true;
      }
      if (!moved) return;
    }
  }
  std::vector<std::uint8_t> control_errors() {
    std::vector<std::uint8_t> types;
    while (auto e = host.poll_event())
      if (auto* c = std::get_if<usbmux::events::control_message>(&*e)) types.push_back(c->type);
    return types;
  }
  // Sends `n` bytes to the sink; returns how many the sink's side of the link took.
  std::uint64_t send_to_sink(std::size_t n, bool zlp) {
    EXPECT_TRUE(phone.control({0x00, 9, 4, 0, 0}, {}));
    host.start({});
    pump(zlp);
    EXPECT_TRUE(host.ready());
    auto id = host.connect(5001, {});
    pump(zlp);
    std::vector<std::byte> data(n, std::byte{1});
    std::size_t sent = 0;
    for (int i = 0; i < 1000 && sent < n; ++i) {
      if (auto k = host.send(*id, std::span(data).subspan(sent))) sent += *k;
      pump(zlp);
    }
    const auto info = host.info(*id);
    return info ? info->bytes_sent - info->in_flight : 0;
  }

  virtual_phone phone;
  usbmux::host_session host;
  std::vector<std::byte> out = std::vector<std::byte>(49152);
  std::vector<std::byte> in = std::vector<std::byte>(16384);
};

TEST_F(PhoneReads, FullSizePacketsWithZlpsArriveWhole) {
  EXPECT_EQ(send_to_sink(1'000'000, true), 1'000'000u);
  EXPECT_GT(phone.reads().packets_on_boundary, 10u);
  EXPECT_EQ(phone.reads().largest_packet, 49152u);
  EXPECT_EQ(phone.reads().too_large + phone.reads().mismatched, 0u);
  EXPECT_TRUE(control_errors().empty());
}

TEST_F(PhoneReads, WithoutZlpsFullSizePacketsAreGluedAndRefused) {
  EXPECT_LT(send_to_sink(1'000'000, false), 1'000'000u);
  EXPECT_GT(phone.reads().too_large, 0u);
  const auto errors = control_errors();
  ASSERT_FALSE(errors.empty());
  EXPECT_EQ(errors.front(), 3);  // CONTROL error
}

}  // namespace
}  // namespace tether::sim
