#include "camera/test_pattern_camera.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "camera/digit_font.hpp"

namespace tether::camera {

namespace {

property choice(const char* name, const char* value, std::vector<std::string> allowed) {
  return property{name, value, std::move(allowed), false};
}

// "1/125" -> 0.008, "2" -> 2; 0 when it is not a number.
double seconds(const std::string& s) {
  if (const auto slash = s.find('/'); slash != std::string::npos) {
    const double d = std::atof(s.c_str() + slash + 1);
    return d > 0 ? std::atof(s.substr(0, slash).c_str()) / d : 0;
  }
  return std::atof(s.c_str());
}

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

void sleep_for_us(std::int64_t us) {
  if (us > 0) std::this_thread::sleep_for(std::chrono::microseconds(us));
}

// The number behind an exposure setting, for rounding: ISO 400, shutter 1/125 (seconds,
// or "2" for two), aperture f/5.6; 0 for anything else or a value that is not one.
double exposure_number(const std::string& name, const std::string& value) {
  const char* v = value.c_str();
  if (name == "aperture") {
    if (value.rfind("f/", 0) != 0) return 0;
    v += 2;
  } else if (name != "iso" && name != "shutter_speed") {
    return 0;
  }
  char* end = nullptr;
  double n = std::strtod(v, &end);
  if (name == "shutter_speed" && end != v && *end == '/') {
    const char* d = end + 1;
    const double den = std::strtod(d, &end);
    n = end != d && den > 0 ? n / den : 0;
  }
  return end != v && *end == '\0' && n > 0 && std::isfinite(n) ? n : 0;
}

}  // namespace

test_pattern_camera::test_pattern_camera() : test_pattern_camera(options{}) {}

test_pattern_camera::test_pattern_camera(options o) : options_(o) {
  // Names and value formats are the camera protocol's (proto/camera/messages.hpp).
  for (auto p : {
           choice("iso", "400", {"100", "200", "400", "800", "1600", "3200", "6400"}),
           choice("shutter_speed", "1/125", {"1/30", "1/60", "1/125", "1/250", "1/500", "1/1000"}),
           choice("aperture", "f/5.6", {"f/2.8", "f/4", "f/5.6", "f/8", "f/11", "f/16"}),
           choice("white_balance", "auto",
                  {"auto", "daylight", "cloudy", "tungsten", "fluorescent"}),
           choice("exposure_compensation", "0",
                  {"-2.0", "-1.3", "-0.7", "0", "+0.7", "+1.3", "+2.0"}),
           choice("focus_mode", "af-s", {"af-s", "af-c", "manual"}),
           choice("image_format", "jpeg", {"jpeg"}),
           choice("live_view_size", "", {"640x360", "1280x720", "1920x1080"}),
           choice("live_view_quality", "80", {}),
       })
    properties_[p.name] = p;
  properties_["live_view_size"].value =
      std::to_string(options_.width) + "x" + std::to_string(options_.height);
}

std::string test_pattern_camera::model() const {
  return "test pattern " + std::to_string(options_.width) + "x" + std::to_string(options_.height);
}

void test_pattern_camera::enter_command() {
  ++commands_attempted_;
  sleep_for_us(command_time_);
  if (unplugged_) throw camera_error(camera_error::kind::no_camera, "the test camera is unplugged");
  // Decrement only while positive, so a switch set to 3 refuses exactly 3 calls.
  for (int n = busy_commands_; n > 0;)
    if (busy_commands_.compare_exchange_weak(n, n - 1))
      throw camera_error(camera_error::kind::busy, "the test camera is busy");
}

std::vector<property> test_pattern_camera::list_properties() {
  enter_command();
  std::vector<property> out;
  for (const auto& [name, p] : properties_) out.push_back(p);
  return out;
}

property test_pattern_camera::set_property(const std::string& name, const std::string& value) {
  enter_command();
  const auto it = properties_.find(name);
  if (it == properties_.end())
    throw camera_error(camera_error::kind::unknown_property,
                       "the camera has no setting called '" + name + "'");
  property& p = it->second;
  if (p.read_only)
    throw camera_error(camera_error::kind::bad_value, name + " is read-only on this camera");
  std::string applied = value;
  // A real body rounds an exposure setting it cannot do to the nearest it can (ISO 500
  // to 400, 1/120 s to 1/125, f/1.2 to its widest, f/2.8), as PROTOCOL.md's example says;
  // the read-back then differs from the request, which is why set returns the applied
  // value. All three round alike; words (white balance, focus mode) cannot be rounded.
  if (const double want = exposure_number(name, value); want > 0) {
    applied = *std::min_element(p.allowed.begin(), p.allowed.end(), [&](auto& a, auto& b) {
      return std::abs(std::log(exposure_number(name, a) / want)) <
             std::abs(std::log(exposure_number(name, b) / want));
    });
  }
  if (name == "live_view_quality") {
    const int q = std::atoi(value.c_str());
    if (q < 1 || q > 100 || std::to_string(q) != value)
      throw camera_error(camera_error::kind::bad_value, "live_view_quality cannot be '" + value +
                                                            "': it is a number from 1 to 100");
  } else if (std::find(p.allowed.begin(), p.allowed.end(), applied) == p.allowed.end())
    throw camera_error(camera_error::kind::bad_value,
                       name + " cannot be '" + value + "': the camera allows " + joined(p.allowed));
  p.value = applied;
  if (name == "live_view_size") {
    const auto x = applied.find('x');
    options_.width = static_cast<std::uint32_t>(std::stoul(applied.substr(0, x)));
    options_.height = static_cast<std::uint32_t>(std::stoul(applied.substr(x + 1)));
  }
  return p;
}

captured_file test_pattern_camera::capture() {
  enter_command();
  ++shots_;
  captured_file f;
  f.bytes = encode_jpeg(draw(options_.capture_width, options_.capture_height, frames_), 92);
  char name[32];
  std::snprintf(name, sizeof name, "TP_%04llu.JPG", static_cast<unsigned long long>(shots_));
  f.name = name;
  f.mime = "image/jpeg";
  return f;
}

void test_pattern_camera::autofocus() {
  enter_command();
  if (properties_["focus_mode"].value == "manual")
    throw camera_error(camera_error::kind::unsupported,
                       "autofocus is off (focus_mode is manual): set focus_mode to af-s first");
  focus_position_ = 50;
}

void test_pattern_camera::focus_step(focus_direction d, int steps) {
  enter_command();
  const int size = steps <= 1 ? 1 : steps == 2 ? 5 : 20;
  focus_position_ =
      std::clamp(focus_position_ + (d == focus_direction::far ? size : -size), 0, 100);
}

preview_frame test_pattern_camera::capture_preview() {
  ++previews_attempted_;
  sleep_for_us(preview_time_);
  if (unplugged_) throw camera_error(camera_error::kind::no_camera, "the test camera is unplugged");
  for (int n = busy_previews_; n > 0;)
    if (busy_previews_.compare_exchange_weak(n, n - 1))
      throw camera_error(camera_error::kind::busy, "the test camera is busy");
  preview_frame f;
  f.jpeg = encode_jpeg(draw(options_.width, options_.height, ++frames_), live_view_quality());
  f.width = options_.width;
  f.height = options_.height;
  f.captured = std::chrono::steady_clock::now();
  return f;
}

int test_pattern_camera::live_view_quality() const {
  return std::atoi(properties_.at("live_view_quality").value.c_str());
}

rgb_image test_pattern_camera::draw(std::uint32_t width, std::uint32_t height,
                                    std::uint64_t frame) const {
  // Exposure in stops relative to ISO 400, 1/125, f/5.6: each stop doubles the light.
  const double iso = std::atof(properties_.at("iso").value.c_str());
  const double t = seconds(properties_.at("shutter_speed").value);
  const double f = std::atof(properties_.at("aperture").value.c_str() + 2);
  const double ev = std::atof(properties_.at("exposure_compensation").value.c_str());
  const double gain = (iso / 400) * (t * 125) * (5.6 / f) * (5.6 / f) * std::exp2(ev);
  const auto& wb = properties_.at("white_balance").value;
  const std::array<double, 3> tint = wb == "tungsten"      ? std::array{0.75, 0.9, 1.3}
                                     : wb == "cloudy"      ? std::array{1.15, 1.0, 0.85}
                                     : wb == "fluorescent" ? std::array{0.95, 1.1, 0.95}
                                                           : std::array{1.0, 1.0, 1.0};
  // One look-up table per channel turns the arithmetic into a load per byte.
  std::array<std::array<std::uint8_t, 256>, 3> lut{};
  for (std::size_t c = 0; c < 3; ++c)
    for (std::size_t v = 0; v < 256; ++v)
      lut[c][v] = static_cast<std::uint8_t>(
          std::clamp(static_cast<double>(v) * gain * tint[c], 0.0, 255.0));

  // Colour bands along the diagonal, 256 pixels a period, moving 16 pixels a frame:
  // a full cycle in 16 frames, visible motion at any frame rate.
  std::array<std::array<std::uint8_t, 3>, 256> bands{};
  for (std::size_t i = 0; i < bands.size(); ++i) {
    const double a = static_cast<double>(i) / 256 * 2 * M_PI;
    for (std::size_t c = 0; c < 3; ++c)
      bands[i][c] = static_cast<std::uint8_t>(
          40 + 60 * (1 + std::sin(a + static_cast<double>(c) * 2 * M_PI / 3)));
  }
  rgb_image img;
  img.width = width;
  img.height = height;
  img.pixels.resize(std::size_t{width} * height * 3);
  // Pixel (x, y) shows band (x + y + phase) mod 256, so every row is one strip of bands
  // (bands_row) read from a different start: one copy a row instead of arithmetic a pixel, which
  // keeps a 1080p frame well inside a 60 fps budget next to the JPEG encoder.
  const std::size_t phase = static_cast<std::size_t>(frame * 16);
  std::vector<std::uint8_t> bands_row((std::size_t{width} + 256) * 3);
  for (std::size_t x = 0; x < std::size_t{width} + 256; ++x)
    for (std::size_t c = 0; c < 3; ++c) bands_row[x * 3 + c] = lut[c][bands[x & 255][c]];
  const std::uint32_t bar_w = std::max<std::uint32_t>(width / 64, 2);
  const std::uint32_t bar_x = static_cast<std::uint32_t>((frame * bar_w) % width);
  const std::uint32_t bar_end = std::min(bar_x + bar_w, width);
  for (std::uint32_t y = 0; y < height; ++y) {
    std::uint8_t* row = img.pixels.data() + std::size_t{y} * width * 3;
    std::memcpy(row, bands_row.data() + ((y + phase) & 255) * 3, std::size_t{width} * 3);
    for (std::uint32_t x = bar_x; x < bar_end; ++x)
      for (std::size_t c = 0; c < 3; ++c) row[x * 3 + c] = lut[c][230];
  }
  auto fill = [&](std::uint32_t x0, std::uint32_t y0, std::uint32_t w, std::uint32_t h,
                  std::uint8_t v) {
    for (std::uint32_t y = y0; y < std::min(y0 + h, height); ++y)
      for (std::uint32_t x = x0; x < std::min(x0 + w, width); ++x)
        for (std::size_t c = 0; c < 3; ++c) img.pixels[(std::size_t{y} * width + x) * 3 + c] = v;
  };
  // The frame number, black on white so it survives exposure and JPEG: 8 digits at a
  // scale of 1/90 of the height (12 pixels a dot at 1080p).
  const std::uint32_t s = std::max<std::uint32_t>(height / 90, 1);
  const std::uint32_t cell = (glyph_width + 1) * s;
  fill(0, 0, cell * 8 + s * 2, (glyph_height + 2) * s, 255);
  std::uint64_t n = frame;
  for (int i = 7; i >= 0; --i, n /= 10) {
    const int digit = static_cast<int>(n % 10);
    const std::uint32_t x0 = s + static_cast<std::uint32_t>(i) * cell;
    for (int r = 0; r < glyph_height; ++r)
      for (int col = 0; col < glyph_width; ++col)
        if (glyph_row(digit, r) & (0x10 >> col))
          fill(x0 + static_cast<std::uint32_t>(col) * s, s + static_cast<std::uint32_t>(r) * s, s,
               s, 0);
  }
  // Focus position: a white marker on a dark strip along the bottom.
  const std::uint32_t strip = std::max<std::uint32_t>(height / 60, 2);
  fill(0, height - strip, width, strip, 20);
  fill(static_cast<std::uint32_t>(static_cast<std::uint64_t>(focus_position_) * (width - strip) /
                                  100),
       height - strip, strip, strip, 255);
  return img;
}

}  // namespace tether::camera
