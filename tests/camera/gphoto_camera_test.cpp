// libgphoto2 with no camera attached (always the case on the test machines): every
// call says so in words the user can act on, and nothing crashes.
#include "camera/gphoto_camera.hpp"

#include <gtest/gtest.h>

#include <chrono>

namespace tether::camera {
namespace {

TEST(GphotoCamera, NoCameraIsAClearError) {
  gphoto_camera cam;
  try {
    cam.capture_preview();
    GTEST_SKIP() << "a camera is attached to this machine";
  } catch (const camera_error& e) {
    EXPECT_EQ(e.which(), camera_error::kind::no_camera);
    EXPECT_STREQ(e.what(), "no camera found by libgphoto2: is it connected and switched on?");
  }
  EXPECT_THROW(cam.list_properties(), camera_error);
  EXPECT_THROW(cam.set_property("iso", "400"), camera_error);
  cam.end_preview();
}

TEST(GphotoCamera, AMissingCameraIsNotProbedForAgainUntilUsbChanges) {
  gphoto_camera cam;
  EXPECT_THROW(cam.capture_preview(), camera_error);
  // The next calls answer at once from the failed probe (a probe takes milliseconds
  // and leaks in libgphoto2): a thousand of them in well under a second.
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 1000; ++i) EXPECT_THROW(cam.capture_preview(), camera_error);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(500));
}

TEST(GphotoCamera, UnknownSettingIsRefusedBeforeLookingForACamera) {
  gphoto_camera cam;
  try {
    cam.set_property("zoom", "2");
    FAIL();
  } catch (const camera_error& e) {
    EXPECT_EQ(e.which(), camera_error::kind::unknown_property);
  }
}

}  // namespace
}  // namespace tether::camera
