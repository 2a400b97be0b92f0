#pragma once
// A 5x7 bitmap font for the digits 0-9, so the test pattern can draw its frame number
// without a font library, and the tests can read it back.
#include <cstdint>

namespace tether::camera {

inline constexpr int glyph_width = 5;
inline constexpr int glyph_height = 7;

// Row r (0 = top) of digit d: bit 4 is the leftmost column.
std::uint8_t glyph_row(int digit, int row);

}  // namespace tether::camera
