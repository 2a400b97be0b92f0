#include "phone/iphone_model.hpp"

#include <gtest/gtest.h>

#include <map>

namespace tether::sim {
namespace {

struct endpoint_info {
  std::uint8_t address, attributes;
  std::uint16_t max_packet;
  bool has_companion;
};
struct interface_info {
  std::uint8_t number, alt, cls, sub, proto;
  std::vector<endpoint_info> endpoints;
};

// Walks one configuration the way a USB host parser would, checking every length.
std::vector<interface_info> walk(const std::vector<std::uint8_t>& c) {
  std::vector<interface_info> out;
  EXPECT_GE(c.size(), 9u);
  EXPECT_EQ(c[1], 2);
  EXPECT_EQ(c[2] | (c[3] << 8), static_cast<int>(c.size()));
  std::size_t i = c[0];
  while (i < c.size()) {
    const std::uint8_t len = c[i], type = c[i + 1];
    EXPECT_GE(len, 2);
    EXPECT_LE(i + len, c.size());
    if (type == 4) {
      out.push_back({c[i + 2], c[i + 3], c[i + 5], c[i + 6], c[i + 7], {}});
      EXPECT_EQ(len, 9);
    } else if (type == 5) {
      out.back().endpoints.push_back(
          {c[i + 2], c[i + 3], static_cast<std::uint16_t>(c[i + 4] | (c[i + 5] << 8)), false});
    } else if (type == 0x30) {
      out.back().endpoints.back().has_companion = true;
    }
    i += len;
  }
  return out;
}

class IphoneModel : public ::testing::TestWithParam<usb_speed> {};

TEST_P(IphoneModel, UsbmuxSitsInConfigurations3And4WithTwoBulkEndpoints) {
  iphone_identity id;
  id.speed = GetParam();
  const std::uint16_t bulk = GetParam() == usb_speed::super ? 1024 : 512;
  for (std::uint8_t v = 1; v <= 4; ++v) {
    const auto ifaces = walk(configuration_descriptor(id, v));
    int mux = 0;
    for (const auto& f : ifaces) {
      if (f.cls == 0xff && f.sub == 0xfe && f.proto == 0x02) {
        ++mux;
        ASSERT_EQ(f.endpoints.size(), 2u);
        EXPECT_EQ(f.endpoints[0].address, 0x04);
        EXPECT_EQ(f.endpoints[1].address, 0x85);
        for (const auto& e : f.endpoints) {
          EXPECT_EQ(e.attributes, 2);  // bulk
          EXPECT_EQ(e.max_packet, bulk);
          EXPECT_EQ(e.has_companion, GetParam() == usb_speed::super);
        }
      }
    }
    EXPECT_EQ(mux, has_usbmux(v) ? 1 : 0) << "configuration " << int(v);
  }
  // Configuration 4 lists PTP first, then usbmux, then Ethernet with two alt settings.
  const auto c4 = walk(configuration_descriptor(id, 4));
  ASSERT_EQ(c4.size(), 4u);
  EXPECT_EQ(c4[0].cls, 0x06);
  EXPECT_EQ(c4[2].sub, 0xfd);
  EXPECT_EQ(c4[2].endpoints.size(), 0u);
  EXPECT_EQ(c4[3].alt, 1);
}

TEST_P(IphoneModel, DeviceDescriptorIsApple) {
  iphone_identity id;
  id.speed = GetParam();
  const auto d = device_descriptor(id);
  ASSERT_EQ(d.size(), 18u);
  EXPECT_EQ(d[8] | (d[9] << 8), 0x05ac);
  EXPECT_EQ(d[10] | (d[11] << 8), 0x12a8);
  EXPECT_EQ(d[17], 4);  // bNumConfigurations
  EXPECT_EQ(d[2] | (d[3] << 8), GetParam() == usb_speed::super ? 0x0320 : 0x0200);
  EXPECT_EQ(all_descriptors(id).size(),
            18 + configuration_descriptor(id, 1).size() + configuration_descriptor(id, 2).size() +
                configuration_descriptor(id, 3).size() + configuration_descriptor(id, 4).size());
}

INSTANTIATE_TEST_SUITE_P(Speeds, IphoneModel, ::testing::Values(usb_speed::high, usb_speed::super));

TEST(IphoneModelStrings, SerialIsUtf16AndLangIdIsEnglish) {
  iphone_identity id;
  EXPECT_EQ(string_descriptor(id, 0), (std::vector<std::uint8_t>{4, 3, 0x09, 0x04}));
  const auto s = string_descriptor(id, 3);
  ASSERT_EQ(s.size(), 2u + 2u * id.serial.size());
  EXPECT_EQ(s[0], s.size());
  EXPECT_EQ(s[2], '0');
  EXPECT_EQ(s[3], 0);
  EXPECT_TRUE(string_descriptor(id, 200).empty());
}

TEST(IphoneModelStrings, UdidGetsHyphenOnlyFor24CharacterSerials) {
  EXPECT_EQ(udid_from_serial("0000812000092D910EDB401E"), "00008120-00092D910EDB401E");
  const std::string old(40, 'a');
  EXPECT_EQ(udid_from_serial(old), old);
}

TEST(IphoneModelSysfs, DescriptionCarriesWhatLibusbReads) {
  iphone_identity id;
  id.bus = 3;
  id.address = 17;
  const std::string s = sysfs_description(id);
  EXPECT_NE(s.find("E: DEVNAME=/dev/bus/usb/003/017\n"), std::string::npos);
  EXPECT_EQ(s.find("N: "), std::string::npos);  // the node is a FIFO made by usbdevfs_phone
  EXPECT_NE(s.find("A: busnum=3\\n\n"), std::string::npos);
  EXPECT_NE(s.find("A: devnum=17\\n\n"), std::string::npos);
  EXPECT_NE(s.find("A: bConfigurationValue=1\\n\n"), std::string::npos);
  EXPECT_NE(s.find("E: PRODUCT=5ac/12a8/1501\n"), std::string::npos);  // what udev rules match
  EXPECT_NE(s.find("H: descriptors=12010002"), std::string::npos);
}

}  // namespace
}  // namespace tether::sim
