#pragma once
// The pictures the virtual camera "takes": deterministic JPEGs, so a test can make the
// same bytes again or compare against what the camera recorded. Live-view frames show
// their number in digits (the camera's 5x7 font) over moving bands; captures are one
// grainy still (a megabyte or so, like a photograph) with the shot number in a JPEG
// comment.
#include <cstdint>

#include "tools/sim/ptp/ptp_container.hpp"

namespace tether::sim::ptp {

// A D750 live-view frame is 640x424.
bytes live_view_jpeg(std::uint64_t frame, std::uint32_t width = 640, std::uint32_t height = 424);
// A full capture; the size keeps a test's download in the megabyte range.
bytes capture_jpeg(std::uint64_t shot, std::uint32_t width = 2400, std::uint32_t height = 1600);

}  // namespace tether::sim::ptp
