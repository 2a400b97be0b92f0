#pragma once
// A Nikon D750 as libgphoto2 knows it (USB 04b0:0437, "Nikon DSC D750" in its camera
// list, driven by the ptp2 camlib's Nikon code): the DeviceInfo, the exposure
// properties with the values a D750 offers, and the vendor operations the driver uses
// for events and live view. The body is in manual exposure mode, so aperture and
// shutter speed are writable (in P they are read-only, as on the real camera).
#include <cstdint>

#include "tools/sim/ptp/ptp_responder.hpp"

namespace tether::sim::ptp {

inline constexpr std::uint16_t nikon_vendor_id = 0x04b0;
inline constexpr std::uint16_t d750_product_id = 0x0437;

camera_description nikon_d750(double live_view_fps);

}  // namespace tether::sim::ptp
