#include "camera/gphoto_values.hpp"

#include <gtest/gtest.h>

namespace tether::camera {
namespace {

TEST(GphotoValues, ShutterSpeedsSnapToTheThirdStopScale) {
  // What libgphoto2 prints for a Nikon's PTP exposure times (1/10000 s units).
  EXPECT_EQ(protocol_value("shutter_speed", "0.0080s"), "1/125");
  EXPECT_EQ(protocol_value("shutter_speed", "0.0031s"), "1/320");
  EXPECT_EQ(protocol_value("shutter_speed", "0.0003s"), "1/3200");
  EXPECT_EQ(protocol_value("shutter_speed", "0.0166s"), "1/60");
  EXPECT_EQ(protocol_value("shutter_speed", "0.0769s"), "1/13");
  EXPECT_EQ(protocol_value("shutter_speed", "0.3333s"), "1/3");
  EXPECT_EQ(protocol_value("shutter_speed", "0.5000s"), "0.5");
  EXPECT_EQ(protocol_value("shutter_speed", "1.0000s"), "1");
  EXPECT_EQ(protocol_value("shutter_speed", "2.5000s"), "2.5");
  EXPECT_EQ(protocol_value("shutter_speed", "Bulb"), "bulb");
  EXPECT_EQ(protocol_value("shutter_speed", "1/250"), "1/250");  // Canon's own wording
}

TEST(GphotoValues, ExposureCompensationHasSignAndOneDecimal) {
  EXPECT_EQ(protocol_value("exposure_compensation", "0"), "0");
  EXPECT_EQ(protocol_value("exposure_compensation", "0.333"), "+0.3");
  EXPECT_EQ(protocol_value("exposure_compensation", "-1.666"), "-1.7");
  EXPECT_EQ(protocol_value("exposure_compensation", "5"), "+5.0");
}

TEST(GphotoValues, WordsBecomeTheProtocolsPresets) {
  EXPECT_EQ(protocol_value("white_balance", "Automatic"), "auto");
  EXPECT_EQ(protocol_value("white_balance", "Cloudy"), "cloudy");
  EXPECT_EQ(protocol_value("white_balance", "Preset"), "custom");
  EXPECT_EQ(protocol_value("white_balance", "Color Temperature"), "color-temperature");
  EXPECT_EQ(protocol_value("focus_mode", "AF-S"), "af-s");
  EXPECT_EQ(protocol_value("focus_mode", "Manual"), "manual");
  EXPECT_EQ(protocol_value("image_format", "JPEG Fine"), "jpeg-fine");
  EXPECT_EQ(protocol_value("image_format", "NEF (Raw)"), "raw");
  EXPECT_EQ(protocol_value("image_format", "NEF+Fine"), "raw+jpeg-fine");
  EXPECT_EQ(protocol_value("iso", "800"), "800");
  EXPECT_EQ(protocol_value("iso", "Auto"), "auto");
  EXPECT_EQ(protocol_value("aperture", "f/5.6"), "f/5.6");
}

}  // namespace
}  // namespace tether::camera
