#include "tools/gadget/ffs_descriptors.hpp"

#include <linux/usb/functionfs.h>

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tether::gadget {
namespace {

using bytes = std::vector<std::uint8_t>;

std::uint32_t le32(const bytes& b, std::size_t at) {
  return static_cast<std::uint32_t>(b[at] | b[at + 1] << 8 | b[at + 2] << 16 | b[at + 3] << 24);
}

// The descriptors of one speed, split.
struct speed_set {
  std::vector<bytes> all;
  std::vector<bytes> of_type(std::uint8_t type) const {
    std::vector<bytes> v;
    for (const bytes& d : all)
      if (d[1] == type) v.push_back(d);
    return v;
  }
};

// Parses a v2 blob with full and high speed descriptors, checking its frame.
std::pair<speed_set, speed_set> parse(const bytes& blob) {
  EXPECT_EQ(le32(blob, 0), static_cast<std::uint32_t>(FUNCTIONFS_DESCRIPTORS_MAGIC_V2));
  EXPECT_EQ(le32(blob, 4), blob.size());
  EXPECT_EQ(le32(blob, 8),
            static_cast<std::uint32_t>(FUNCTIONFS_HAS_FS_DESC | FUNCTIONFS_HAS_HS_DESC));
  const std::uint32_t counts[2] = {le32(blob, 12), le32(blob, 16)};
  speed_set sets[2];
  std::size_t at = 20;
  for (int s = 0; s < 2; ++s) {
    for (std::uint32_t i = 0; i < counts[s]; ++i) {
      EXPECT_LT(at + 1, blob.size());
      if (at + 1 >= blob.size()) return {};
      const std::uint8_t len = blob[at];
      EXPECT_GE(len, 2);
      if (len < 2) return {};
      sets[s].all.emplace_back(blob.begin() + static_cast<std::ptrdiff_t>(at),
                               blob.begin() + static_cast<std::ptrdiff_t>(at + len));
      at += len;
    }
  }
  EXPECT_EQ(at, blob.size()) << "bytes after the declared descriptors";
  return {sets[0], sets[1]};
}

std::vector<std::string> parse_strings(const bytes& blob) {
  EXPECT_EQ(le32(blob, 0), static_cast<std::uint32_t>(FUNCTIONFS_STRINGS_MAGIC));
  EXPECT_EQ(le32(blob, 4), blob.size());
  EXPECT_EQ(le32(blob, 12), 1u);  // one language
  EXPECT_EQ(blob[16] | blob[17] << 8, 0x0409);
  std::vector<std::string> out;
  std::string cur;
  for (std::size_t i = 18; i < blob.size(); ++i) {
    if (blob[i] == 0) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(static_cast<char>(blob[i]));
    }
  }
  EXPECT_TRUE(cur.empty()) << "strings must end in NUL";
  EXPECT_EQ(le32(blob, 8), out.size());
  return out;
}

const function_slot& slot(function_kind kind, std::uint8_t configuration) {
  static const std::vector<function_slot> all = iphone_functions();
  for (const function_slot& s : all)
    if (s.kind == kind && s.configuration == configuration) return s;
  throw std::runtime_error("no such slot");
}

TEST(FfsDescriptors, SevenInstancesCoverTheFourConfigurations) {
  const auto all = iphone_functions();
  ASSERT_EQ(all.size(), 7u);
  int per_config[5] = {};
  for (const function_slot& s : all) ++per_config[s.configuration];
  EXPECT_EQ(per_config[1], 1);
  EXPECT_EQ(per_config[2], 1);
  EXPECT_EQ(per_config[3], 2);
  EXPECT_EQ(per_config[4], 3);
  // Each configuration starts with the interface the model numbers 0.
  EXPECT_EQ(all[0].kind, function_kind::ptp);
  EXPECT_EQ(all[2].kind, function_kind::ptp);
  EXPECT_EQ(all[3].kind, function_kind::usbmux);
  EXPECT_EQ(all[6].kind, function_kind::ethernet);
}

TEST(FfsDescriptors, UsbmuxIsOneVendorInterfaceWithBulkOutThenIn) {
  const ffs_blobs b = function_blobs({}, slot(function_kind::usbmux, 3));
  const auto [fs, hs] = parse(b.descriptors);
  for (const speed_set* s : {&fs, &hs}) {
    const auto intf = s->of_type(4);
    ASSERT_EQ(intf.size(), 1u);
    EXPECT_EQ(intf[0][2], 0) << "FunctionFS numbers the instance's interfaces from 0";
    EXPECT_EQ(intf[0][4], 2);  // two endpoints
    EXPECT_EQ(intf[0][5], 0xff);
    EXPECT_EQ(intf[0][6], 0xfe);
    EXPECT_EQ(intf[0][7], 0x02);
    EXPECT_EQ(intf[0][8], 1) << "the instance's first string";
    const auto eps = s->of_type(5);
    ASSERT_EQ(eps.size(), 2u);
    EXPECT_EQ(eps[0][2], sim::usbmux_out_endpoint);  // ep1: OUT
    EXPECT_EQ(eps[1][2], sim::usbmux_in_endpoint);   // ep2: IN
    for (const bytes& e : eps) {
      EXPECT_EQ(e.size(), 7u);
      EXPECT_EQ(e[3], 2) << "bulk";
    }
  }
  EXPECT_EQ(fs.of_type(5)[0][4] | fs.of_type(5)[0][5] << 8, 64);
  EXPECT_EQ(hs.of_type(5)[0][4] | hs.of_type(5)[0][5] << 8, 512);
  EXPECT_EQ(parse_strings(b.strings), std::vector<std::string>{"Apple USB Multiplexor"});
}

TEST(FfsDescriptors, BothUsbmuxInstancesAreAlike) {
  EXPECT_EQ(function_blobs({}, slot(function_kind::usbmux, 3)).descriptors,
            function_blobs({}, slot(function_kind::usbmux, 4)).descriptors);
}

TEST(FfsDescriptors, PtpHasStillImageClassAndThreeEndpoints) {
  const ffs_blobs b = function_blobs({}, slot(function_kind::ptp, 1));
  const auto [fs, hs] = parse(b.descriptors);
  const auto intf = hs.of_type(4);
  ASSERT_EQ(intf.size(), 1u);
  EXPECT_EQ(intf[0][5], 0x06);
  EXPECT_EQ(intf[0][6], 0x01);
  EXPECT_EQ(intf[0][7], 0x01);
  const auto hs_eps = hs.of_type(5);
  const auto fs_eps = fs.of_type(5);
  ASSERT_EQ(hs_eps.size(), 3u);
  ASSERT_EQ(fs_eps.size(), 3u);
  EXPECT_EQ(hs_eps[2][3], 3) << "interrupt";
  EXPECT_EQ(hs_eps[2][6], 8) << "2^(8-1) microframes: 16 ms";
  EXPECT_EQ(fs_eps[2][6], 16) << "16 frames: the same 16 ms at full speed";
  EXPECT_EQ(parse_strings(b.strings), std::vector<std::string>{"PTP"});
}

TEST(FfsDescriptors, IpodConfigurationHasNoAudioClassDescriptors) {
  // FunctionFS rejects class-specific audio descriptors; the interfaces stay.
  const auto [fs, hs] = parse(function_blobs({}, slot(function_kind::ipod, 2)).descriptors);
  for (const bytes& d : hs.all) EXPECT_NE(d[1], 0x24) << "CS_INTERFACE descriptor";
  const auto intf = hs.of_type(4);
  ASSERT_EQ(intf.size(), 2u);
  EXPECT_EQ(intf[0][2], 0);
  EXPECT_EQ(intf[1][2], 1);
  EXPECT_EQ(intf[0][8], intf[1][8]) << "one string, 'iPod USB Interface', for both";
}

TEST(FfsDescriptors, EthernetKeepsBothAltSettingsAsInterfaceZero) {
  const ffs_blobs b = function_blobs({}, slot(function_kind::ethernet, 4));
  const auto [fs, hs] = parse(b.descriptors);
  const auto intf = hs.of_type(4);
  ASSERT_EQ(intf.size(), 2u);
  for (const bytes& i : intf) {
    EXPECT_EQ(i[2], 0);
    EXPECT_EQ(i[5], 0xff);
    EXPECT_EQ(i[6], 0xfd);
    EXPECT_EQ(i[7], 0x01);
  }
  EXPECT_EQ(intf[0][3], 0);
  EXPECT_EQ(intf[1][3], 1);
  EXPECT_EQ(hs.of_type(5).size(), 2u);
  EXPECT_EQ(parse_strings(b.strings), std::vector<std::string>{"Apple USB Ethernet"});
}

TEST(FfsDescriptors, SuperSpeedModelStillGivesHighSpeedDescriptors) {
  sim::iphone_identity id;
  id.speed = sim::usb_speed::super;
  const auto [fs, hs] = parse(function_blobs(id, slot(function_kind::usbmux, 4)).descriptors);
  for (const bytes& d : hs.all) EXPECT_NE(d[1], 0x30) << "no SuperSpeed companion";
  EXPECT_EQ(hs.of_type(5)[1][4] | hs.of_type(5)[1][5] << 8, 512);
}

TEST(FfsDescriptors, ConfigurationNamesComeFromTheModel) {
  EXPECT_EQ(configuration_name({}, 1), "PTP");
  EXPECT_EQ(configuration_name({}, 2), "iPod USB Interface");
  EXPECT_EQ(configuration_name({}, 3), "PTP + Apple Mobile Device");
  EXPECT_EQ(configuration_name({}, 4), "PTP + Apple Mobile Device + Apple USB Ethernet");
}

}  // namespace
}  // namespace tether::gadget
