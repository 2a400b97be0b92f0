// The test-pattern camera: real JPEGs of the asked size, a frame number that can be
// read back, motion between frames, settings that change the picture.
#include "camera/test_pattern_camera.hpp"

#include <gtest/gtest.h>

#include "camera/digit_font.hpp"
#include "camera/jpeg.hpp"

namespace tether::camera {
namespace {

test_pattern_camera::options small() {
  test_pattern_camera::options o;
  o.width = 320;
  o.height = 180;
  o.capture_width = 640;
  o.capture_height = 360;
  return o;
}

std::uint8_t luma(const rgb_image& img, std::uint32_t x, std::uint32_t y) {
  const auto* p = &img.pixels[(std::size_t{y} * img.width + x) * 3];
  return static_cast<std::uint8_t>((p[0] + p[1] * 2 + p[2]) / 4);
}

// Reads the 8-digit frame number the way the pattern draws it (see draw()): each dot
// sampled at its centre, each cell matched to the closest glyph.
std::uint64_t read_number(const rgb_image& img) {
  const std::uint32_t s = std::max<std::uint32_t>(img.height / 90, 1);
  std::uint64_t n = 0;
  for (std::uint32_t i = 0; i < 8; ++i) {
    int best = -1, best_misses = 1000;
    for (int d = 0; d < 10; ++d) {
      int misses = 0;
      for (int r = 0; r < glyph_height; ++r)
        for (int c = 0; c < glyph_width; ++c) {
          const bool ink =
              luma(img, s + i * (glyph_width + 1) * s + static_cast<std::uint32_t>(c) * s + s / 2,
                   s + static_cast<std::uint32_t>(r) * s + s / 2) < 128;
          misses += ink != ((glyph_row(d, r) & (0x10 >> c)) != 0);
        }
      if (misses < best_misses) best = d, best_misses = misses;
    }
    n = n * 10 + static_cast<std::uint64_t>(best);
  }
  return n;
}

double mean_luma(const rgb_image& img) {
  double sum = 0;
  for (std::uint32_t y = img.height / 4; y < img.height * 3 / 4; ++y)
    for (std::uint32_t x = 0; x < img.width; ++x) sum += luma(img, x, y);
  return sum / (img.width * img.height / 2.0);
}

TEST(TestPatternCamera, PreviewIsAJpegOfTheAskedSize) {
  test_pattern_camera cam(small());
  const auto f = cam.capture_preview();
  ASSERT_GE(f.jpeg.size(), 2u);
  EXPECT_EQ(f.jpeg[0], std::byte{0xFF});
  EXPECT_EQ(f.jpeg[1], std::byte{0xD8});
  const auto img = decode_jpeg(f.jpeg);
  EXPECT_EQ(img.width, 320u);
  EXPECT_EQ(img.height, 180u);
  EXPECT_EQ(f.width, 320u);
  EXPECT_EQ(f.height, 180u);
}

TEST(TestPatternCamera, DefaultIsFullHd) {
  test_pattern_camera cam;
  const auto img = decode_jpeg(cam.capture_preview().jpeg);
  EXPECT_EQ(img.width, 1920u);
  EXPECT_EQ(img.height, 1080u);
  EXPECT_EQ(read_number(img), 1u);
}

TEST(TestPatternCamera, FramesCarryTheirNumberAndMove) {
  test_pattern_camera cam(small());
  rgb_image previous;
  for (std::uint64_t i = 1; i <= 12; ++i) {
    const auto img = decode_jpeg(cam.capture_preview().jpeg);
    EXPECT_EQ(read_number(img), i);
    if (i > 1) {
      // The picture below the number changes colour: the bands move every frame.
      int changed = 0, samples = 0;
      for (std::uint32_t y = 40; y < 160; y += 4)
        for (std::uint32_t x = 0; x < 320; x += 4, ++samples)
          for (std::size_t c = 0; c < 3; ++c) {
            const std::size_t at = (std::size_t{y} * 320 + x) * 3 + c;
            if (std::abs(img.pixels[at] - previous.pixels[at]) > 8) {
              ++changed;
              break;
            }
          }
      EXPECT_GT(changed, samples / 2) << "frame " << i;
    }
    previous = img;
  }
}

TEST(TestPatternCamera, IsoChangesBrightnessAndReadsBackWhatWasApplied) {
  test_pattern_camera cam(small());
  const double at_400 = mean_luma(decode_jpeg(cam.capture_preview().jpeg));
  EXPECT_EQ(cam.set_property("iso", "1600").value, "1600");
  const double at_1600 = mean_luma(decode_jpeg(cam.capture_preview().jpeg));
  EXPECT_GT(at_1600, at_400 * 1.5);
  // A value the camera cannot do is rounded, and the read-back says so: every exposure
  // setting alike (PROTOCOL.md's example, 1/120 -> 1/125).
  EXPECT_EQ(cam.set_property("iso", "500").value, "400");
  EXPECT_EQ(cam.set_property("iso", "12345").value, "6400");
  EXPECT_EQ(cam.set_property("shutter_speed", "1/120").value, "1/125");
  EXPECT_EQ(cam.set_property("shutter_speed", "2").value, "1/30");
  EXPECT_EQ(cam.set_property("aperture", "f/1.2").value, "f/2.8");
  EXPECT_EQ(cam.set_property("aperture", "f/9").value, "f/8");
}

TEST(TestPatternCamera, RefusesUnknownSettingsAndValues) {
  test_pattern_camera cam(small());
  try {
    cam.set_property("aperture", "wide open");
    FAIL();
  } catch (const camera_error& e) {
    EXPECT_EQ(e.which(), camera_error::kind::bad_value);
    EXPECT_NE(std::string(e.what()).find("f/2.8"), std::string::npos) << e.what();
  }
  try {
    cam.set_property("zoom", "2");
    FAIL();
  } catch (const camera_error& e) {
    EXPECT_EQ(e.which(), camera_error::kind::unknown_property);
  }
}

TEST(TestPatternCamera, ListsSettingsWithAllowedValues) {
  test_pattern_camera cam(small());
  const auto props = cam.list_properties();
  auto find = [&](const std::string& n) {
    return std::find_if(props.begin(), props.end(), [&](auto& p) { return p.name == n; });
  };
  for (const char* n :
       {"iso", "shutter_speed", "aperture", "white_balance", "exposure_compensation", "focus_mode",
        "image_format", "live_view_size", "live_view_quality"})
    EXPECT_NE(find(n), props.end()) << n;
  EXPECT_EQ(find("iso")->value, "400");
  EXPECT_EQ(find("iso")->allowed.size(), 7u);
}

TEST(TestPatternCamera, LiveViewSizeIsASetting) {
  test_pattern_camera cam(small());
  cam.set_property("live_view_size", "640x360");
  const auto img = decode_jpeg(cam.capture_preview().jpeg);
  EXPECT_EQ(img.width, 640u);
  EXPECT_EQ(img.height, 360u);
}

TEST(TestPatternCamera, CaptureIsAFullSizeJpeg) {
  test_pattern_camera cam(small());
  const auto f = cam.capture();
  EXPECT_EQ(f.mime, "image/jpeg");
  EXPECT_EQ(f.name, "TP_0001.JPG");
  const auto img = decode_jpeg(f.bytes);
  EXPECT_EQ(img.width, 640u);
  EXPECT_EQ(img.height, 360u);
  EXPECT_EQ(cam.capture().name, "TP_0002.JPG");
}

TEST(TestPatternCamera, BusySwitchRefusesExactlyNCalls) {
  test_pattern_camera cam(small());
  cam.simulate_busy_commands(2);
  for (int i = 0; i < 2; ++i) {
    try {
      cam.autofocus();
      FAIL();
    } catch (const camera_error& e) {
      EXPECT_EQ(e.which(), camera_error::kind::busy);
    }
  }
  cam.autofocus();
  EXPECT_NO_THROW(cam.capture_preview());  // previews have a switch of their own
}

TEST(TestPatternCamera, UnpluggedSaysNoCamera) {
  test_pattern_camera cam(small());
  cam.simulate_unplugged(true);
  try {
    cam.capture_preview();
    FAIL();
  } catch (const camera_error& e) {
    EXPECT_EQ(e.which(), camera_error::kind::no_camera);
  }
  cam.simulate_unplugged(false);
  EXPECT_NO_THROW(cam.capture_preview());
}

TEST(TestPatternCamera, ManualFocusRefusesAutofocus) {
  test_pattern_camera cam(small());
  cam.set_property("focus_mode", "manual");
  EXPECT_THROW(cam.autofocus(), camera_error);
  cam.focus_step(focus_direction::far, 3);  // moves the marker; must not throw
}

}  // namespace
}  // namespace tether::camera
