#include "camera/gphoto_values.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace tether::camera {
namespace {

std::string slug(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == ' ')
      out += '-';
    else
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

bool number(const std::string& s, double& v) {
  char* end = nullptr;
  v = std::strtod(s.c_str(), &end);
  return end != s.c_str();
}

// Shutter speeds as bodies print them, in thirds of a stop: libgphoto2 gives the
// exposure time in 1/10000 s steps, so 1/320 s arrives as 0.0031 and must snap back.
constexpr std::array<int, 35> denominators = {8000, 6400, 5000, 4000, 3200, 2500, 2000, 1600, 1250,
                                              1000, 800,  640,  500,  400,  320,  250,  200,  160,
                                              125,  100,  80,   60,   50,   40,   30,   25,   20,
                                              15,   13,   10,   8,    6,    5,    4,    3};

std::string shutter(const std::string& text) {
  const std::string lower = slug(text);
  if (lower == "bulb" || lower == "time" || lower == "auto") return lower;
  if (lower.rfind("1/", 0) == 0) return lower;  // already a fraction (Canon, Nikon's own)
  double s = 0;
  if (!number(text, s) || s <= 0) return lower;
  if (s < 0.4) {
    const double n = 1.0 / s;
    int best = static_cast<int>(std::lround(n));
    for (int d : denominators)
      if (std::abs(n - d) / d < 0.06) {
        best = d;
        break;
      }
    return "1/" + std::to_string(best);
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", s);
  std::string out = buf;
  if (out.size() > 2 && out.compare(out.size() - 2, 2, ".0") == 0) out.resize(out.size() - 2);
  return out;
}

std::string exposure_compensation(const std::string& text) {
  double v = 0;
  if (!number(text, v)) return slug(text);
  if (std::abs(v) < 0.05) return "0";
  char buf[16];
  std::snprintf(buf, sizeof buf, "%+.1f", v);
  return buf;
}

std::string white_balance(const std::string& text) {
  const std::string s = slug(text);
  if (s == "automatic" || s == "auto") return "auto";
  if (s == "preset" || s == "manual" || s == "custom") return "custom";
  return s;  // daylight, cloudy, shade, tungsten, fluorescent, flash, ...
}

std::string focus_mode(const std::string& text) {
  const std::string s = slug(text);
  if (s == "automatic" || s == "af-a") return "af-a";
  if (s == "single-servo-af" || s == "one-shot") return "af-s";
  if (s == "continuous-servo-af" || s == "ai-servo") return "af-c";
  return s;  // manual, af-s, af-c
}

std::string image_format(const std::string& text) {
  std::string s = slug(text);
  if (s == "nef-(raw)" || s == "raw" || s == "nef") return "raw";
  if (s.rfind("nef+", 0) == 0) return "raw+jpeg-" + s.substr(4);  // NEF+Fine
  return s;                                                       // jpeg-fine, ...
}

}  // namespace

std::string protocol_value(const std::string& property, const std::string& text) {
  if (property == "shutter_speed") return shutter(text);
  if (property == "exposure_compensation") return exposure_compensation(text);
  if (property == "white_balance") return white_balance(text);
  if (property == "focus_mode") return focus_mode(text);
  if (property == "image_format") return image_format(text);
  const std::string s = slug(text);
  if (s == "automatic") return "auto";
  return s;  // iso ("800", "auto"), aperture ("f/5.6")
}

}  // namespace tether::camera
