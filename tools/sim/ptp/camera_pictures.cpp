#include "tools/sim/ptp/camera_pictures.hpp"

#include <string>

#include "tools/camera/digit_font.hpp"
#include "tools/camera/jpeg.hpp"

namespace tether::sim::ptp {
namespace {

using tether::camera::rgb_image;

rgb_image pattern(std::uint64_t n, std::uint32_t width, std::uint32_t height) {
  rgb_image img;
  img.width = width;
  img.height = height;
  img.pixels.resize(static_cast<std::size_t>(width) * height * 3);
  const std::uint32_t shift = static_cast<std::uint32_t>(n * 7);
  for (std::uint32_t y = 0; y < height; ++y) {
    for (std::uint32_t x = 0; x < width; ++x) {
      auto* px = &img.pixels[(static_cast<std::size_t>(y) * width + x) * 3];
      const std::uint32_t band = ((x + shift) / 40) % 6;
      px[0] = static_cast<std::uint8_t>(band & 1 ? 220 : 40 + (y * 60) / height);
      px[1] = static_cast<std::uint8_t>(band & 2 ? 200 : 30 + (x * 50) / width);
      px[2] = static_cast<std::uint8_t>(band & 4 ? 210 : 50);
    }
  }
  // The number, large, top left: white digits on black.
  const std::string digits = std::to_string(n);
  const std::uint32_t scale = height / 40 > 0 ? height / 40 : 1;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    for (int row = 0; row < tether::camera::glyph_height; ++row) {
      const std::uint8_t bits = tether::camera::glyph_row(digits[i] - '0', row);
      for (int col = 0; col < tether::camera::glyph_width; ++col) {
        const bool on = (bits >> (4 - col)) & 1;
        for (std::uint32_t dy = 0; dy < scale; ++dy)
          for (std::uint32_t dx = 0; dx < scale; ++dx) {
            const auto glyph_x =
                8 + i * (tether::camera::glyph_width + 1) + static_cast<std::size_t>(col);
            const std::uint32_t x = static_cast<std::uint32_t>(glyph_x) * scale + dx;
            const std::uint32_t y = static_cast<std::uint32_t>(8 + row) * scale + dy;
            if (x >= width || y >= height) continue;
            auto* px = &img.pixels[(static_cast<std::size_t>(y) * width + x) * 3];
            px[0] = px[1] = px[2] = on ? 255 : 0;
          }
      }
    }
  }
  return img;
}

}  // namespace

bytes live_view_jpeg(std::uint64_t frame, std::uint32_t width, std::uint32_t height) {
  return tether::camera::encode_jpeg(pattern(frame, width, height), 75);
}

bytes capture_jpeg(std::uint64_t shot, std::uint32_t width, std::uint32_t height) {
  return tether::camera::encode_jpeg(pattern(shot * 1000, width, height), 92);
}

}  // namespace tether::sim::ptp
