#pragma once
// JPEG in and out through libturbojpeg: the test-pattern camera encodes with it, and the
// tests decode what it made.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace tether::camera {

struct rgb_image {
  std::uint32_t width = 0;
  std::uint32_t height = 0;
  std::vector<std::uint8_t> pixels;  // RGB, 3 bytes a pixel, rows top to bottom, no padding
};

// Throws camera_error(failed) with libturbojpeg's message.
std::vector<std::byte> encode_jpeg(const rgb_image& image, int quality);
rgb_image decode_jpeg(std::span<const std::byte> jpeg);
// Width and height from the JPEG's header alone (microseconds, no decode); false when
// it is not a JPEG libturbojpeg can read.
bool jpeg_size(std::span<const std::byte> jpeg, std::uint32_t& width, std::uint32_t& height);

}  // namespace tether::camera
