#pragma once
// The phone as a camera, the mirror case of the camera protocol: an app on the phone
// that serves tether's camera protocol (proto/camera/PROTOCOL.md) with a test-pattern
// camera, as an iOS app filming with the phone's own camera would. A program on the
// board (`tether cam --phone PORT`) is then the controller.
#include <cstdint>
#include <memory>

#include "phone/phone_apps.hpp"

namespace tether::sim {

struct camera_app_options {
  std::uint32_t width = 1280;  // live view
  std::uint32_t height = 720;
  double fps = 30;
};

std::unique_ptr<phone_app> make_camera_app(const camera_app_options& o);

}  // namespace tether::sim
