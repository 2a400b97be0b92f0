#include "tools/sim/ptp/camera_pictures.hpp"

#include <algorithm>
#include <map>
#include <mutex>
#include <string>

#include "camera/digit_font.hpp"
#include "camera/jpeg.hpp"

namespace tether::sim::ptp {
namespace {

using tether::camera::rgb_image;

// Grain, so a capture compresses like a photograph (megabytes), not like a drawing.
void add_grain(rgb_image& img, std::uint64_t seed) {
  std::uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
  for (auto& v : img.pixels) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    const int g = static_cast<int>(x & 31) - 16;
    v = static_cast<std::uint8_t>(std::clamp(static_cast<int>(v) + g, 0, 255));
  }
}

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
  // Encoding a grainy picture this size takes 100-250 ms, and it would run inside a USB
  // request, stalling every device in the testbed. So the picture is encoded once, and
  // each shot differs by a JPEG comment (COM segment) right after SOI naming it.
  static std::mutex mu;
  static std::map<std::pair<std::uint32_t, std::uint32_t>, bytes> encoded;
  bytes base;
  {
    std::lock_guard lock(mu);
    auto& e = encoded[{width, height}];
    if (e.empty()) {
      rgb_image img = pattern(0, width, height);
      add_grain(img, 1);
      e = tether::camera::encode_jpeg(img, 92);
    }
    base = e;
  }
  const std::string text = "tether-sim shot " + std::to_string(shot);
  bytes com{std::byte{0xff}, std::byte{0xfe}, std::byte{0},
            static_cast<std::byte>(text.size() + 2)};
  for (char c : text) com.push_back(static_cast<std::byte>(c));
  base.insert(base.begin() + 2, com.begin(), com.end());
  return base;
}

}  // namespace tether::sim::ptp
