#pragma once
// A real camera through libgphoto2. The camera is opened on first use and again after
// it went away, so the service can start before the camera is switched on and survive
// a pulled cable: until then every call fails with no_camera.
//
// The camera is the first one libgphoto2 detects that is not an Apple device (the
// phone's photo-import interface makes it look like a camera).
//
// Settings map tether's names to libgphoto2's config widgets, trying each candidate
// name in turn because bodies differ (Canon "aperture", Nikon "f-number"), with values
// in the protocol's formats (gphoto_values.hpp). Radio and menu widgets are complete,
// ranges and toggles are shown as numbers, and a body that calls a setting something
// else does not show it.
#include <chrono>
#include <memory>
#include <string>

#include "camera/camera_backend.hpp"

namespace tether::camera {

class gphoto_camera : public camera_backend {
 public:
  gphoto_camera();
  ~gphoto_camera() override;
  gphoto_camera(const gphoto_camera&) = delete;
  gphoto_camera& operator=(const gphoto_camera&) = delete;

  std::string model() const override;
  std::vector<property> list_properties() override;
  property set_property(const std::string& name, const std::string& value) override;
  captured_file capture() override;
  void autofocus() override;
  void focus_step(focus_direction d, int steps) override;
  preview_frame capture_preview() override;
  void end_preview() override;
  void release() override { close(); }

 private:
  struct state;  // libgphoto2's handles, kept out of this header
  void open();
  void close();
  void drain_events();  // setting-change events the camera queued (see capture())
  // Throws the camera_error for a libgphoto2 result, closing the camera when the
  // result says it is gone.
  [[noreturn]] void fail(int result, const std::string& doing);
  void check(int result, const std::string& doing) {
    if (result < 0) fail(result, doing);
  }
  std::unique_ptr<state> s_;
  // libgphoto2 2.5.30 leaks about 22 KB in every USB probe (inside its iolibs), and the
  // service asks for a missing camera once a second. So a failed probe is repeated only
  // when the set of USB devices changed (a camera was plugged in), or after 30 s where
  // libusb cannot list the devices.
  std::string failed_probe_devices_;
  std::chrono::steady_clock::time_point failed_probe_at_{};
  std::string devices_;  // the last USB device list, and when it was made
  std::chrono::steady_clock::time_point devices_listed_at_{};
  // Another program holds the camera: asked again after this.
  std::chrono::steady_clock::time_point claimed_until_{};
  std::string model_ = "libgphoto2 camera (not connected)";
  bool previewing_ = false;
};

}  // namespace tether::camera
