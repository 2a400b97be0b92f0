#include "usbmux/usb/device_table.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace tether::usb {
namespace {

const endpoint_view ptp_eps[] = {{0x02, 2, 512}, {0x81, 2, 512}, {0x83, 3, 64}};
const endpoint_view mux_eps[] = {{0x04, 2, 512}, {0x85, 2, 512}};
const endpoint_view swapped_eps[] = {{0x86, 2, 1024}, {0x03, 2, 1024}};
const endpoint_view two_in[] = {{0x81, 2, 512}, {0x82, 2, 512}};
const endpoint_view interrupt_pair[] = {{0x04, 3, 64}, {0x85, 3, 64}};

const interface_view ptp{0, 0, 0x06, 0x01, 0x01, ptp_eps};
const interface_view mux{1, 0, 0xff, 0xfe, 0x02, mux_eps};

TEST(DeviceTable, ProductRanges) {
  EXPECT_TRUE(is_usbmux_product(0x05ac, 0x12a8));
  EXPECT_TRUE(is_usbmux_product(0x05ac, 0x1290));
  EXPECT_TRUE(is_usbmux_product(0x05ac, 0x12af));
  EXPECT_TRUE(is_usbmux_product(0x05ac, 0x8600));
  EXPECT_FALSE(is_usbmux_product(0x05ac, 0x1281));  // recovery mode
  EXPECT_FALSE(is_usbmux_product(0x05ac, 0x1227));  // DFU
  EXPECT_FALSE(is_usbmux_product(0x05ac, 0x12b0));
  EXPECT_FALSE(is_usbmux_product(0x18d1, 0x12a8));  // not Apple
}

TEST(DeviceTable, FindsMuxInterfaceAfterPtpAndReadsEndpoints) {
  const interface_view ifs[] = {ptp, mux};
  mux_interface m;
  ASSERT_TRUE(find_mux_interface({4, ifs}, m));
  EXPECT_EQ(m.configuration, 4);
  EXPECT_EQ(m.interface, 1);
  EXPECT_EQ(m.out_endpoint, 0x04);
  EXPECT_EQ(m.in_endpoint, 0x85);
  EXPECT_EQ(m.max_packet, 512);
}

TEST(DeviceTable, AcceptsEndpointsInEitherOrder) {
  const interface_view ifs[] = {{3, 0, 0xff, 0xfe, 0x02, swapped_eps}};
  mux_interface m;
  ASSERT_TRUE(find_mux_interface({5, ifs}, m));
  EXPECT_EQ(m.in_endpoint, 0x86);
  EXPECT_EQ(m.out_endpoint, 0x03);
  EXPECT_EQ(m.max_packet, 1024);
}

TEST(DeviceTable, AllThreeClassFieldsMustMatch) {
  // usbmuxd master matches any one of the three: a vendor interface with two bulk
  // endpoints listed first would be taken for usbmux. We require all three.
  for (const interface_view& near_miss : {interface_view{0, 0, 0xff, 0xfd, 0x01, mux_eps},
                                          interface_view{0, 0, 0xff, 0x2a, 0xff, mux_eps},
                                          interface_view{0, 0, 0x0a, 0xfe, 0x02, mux_eps},
                                          interface_view{0, 0, 0xff, 0xfe, 0x03, mux_eps}}) {
    const interface_view ifs[] = {near_miss};
    mux_interface m;
    EXPECT_FALSE(find_mux_interface({1, ifs}, m));
  }
}

TEST(DeviceTable, RejectsWrongEndpointLayouts) {
  for (const auto eps :
       {std::span<const endpoint_view>(two_in), std::span<const endpoint_view>(interrupt_pair),
        std::span<const endpoint_view>(ptp_eps)}) {
    const interface_view ifs[] = {{1, 0, 0xff, 0xfe, 0x02, eps}};
    mux_interface m;
    EXPECT_FALSE(find_mux_interface({1, ifs}, m));
  }
  const interface_view alt1[] = {{1, 1, 0xff, 0xfe, 0x02, mux_eps}};
  mux_interface m;
  EXPECT_FALSE(find_mux_interface({1, alt1}, m));
}

TEST(DeviceTable, KeepsCurrentConfigurationWhenItCarriesMux) {
  const interface_view with_mux[] = {ptp, mux};
  const interface_view only_ptp[] = {ptp};
  const configuration_view configs[] = {{1, only_ptp}, {3, with_mux}, {4, with_mux}};
  mux_interface m;
  ASSERT_TRUE(choose_configuration(configs, 3, m));
  EXPECT_EQ(m.configuration, 3);  // no switch to 4: the phone is usable as it is
  ASSERT_TRUE(choose_configuration(configs, 1, m));
  EXPECT_EQ(m.configuration, 4);  // from PTP-only, the highest with usbmux
  ASSERT_TRUE(choose_configuration(configs, 0, m));
  EXPECT_EQ(m.configuration, 4);  // unconfigured (udev set 0)
  const configuration_view none[] = {{1, only_ptp}};
  EXPECT_FALSE(choose_configuration(none, 1, m));
}

}  // namespace
}  // namespace tether::usb
