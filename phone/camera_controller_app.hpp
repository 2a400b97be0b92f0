#pragma once
// The iOS side of tether's camera protocol, scripted: it listens on the app port as a
// real controller app would, and when the camera service connects it says hello,
// reads the properties, sets two of them (checking the applied value comes back),
// starts live view, captures after a few frames, downloads the capture, and stops
// live view. Frames, the capture and a report (report.json) go to a folder.
#include <filesystem>
#include <memory>

#include "phone/phone_apps.hpp"

namespace tether::sim {

struct controller_script {
  std::filesystem::path record_dir;  // empty: keep nothing on disk, count only
  unsigned frames_before_capture = 30;
  unsigned frames_total = 90;  // live view stops after this many frames and the download
};

std::unique_ptr<phone_app> make_camera_controller_app(controller_script script);

}  // namespace tether::sim
