#pragma once
// A camera made of arithmetic, for tests, demos and boards with nothing plugged in yet.
// Live view draws moving colour bands, a sweeping white bar and the frame number, so a
// viewer shows at once whether frames move and arrive in order. Exposure settings
// change the brightness, white balance tints the picture, live_view_size and
// live_view_quality shape the frames, and focus steps move a marker along the bottom. Switches make
// it busy, slow or absent on demand, for the service's retry and fairness tests.
#include <atomic>
#include <chrono>
#include <map>

#include "camera/camera_backend.hpp"
#include "camera/jpeg.hpp"

namespace tether::camera {

class test_pattern_camera : public camera_backend {
 public:
  struct options {
    std::uint32_t width = 1920;  // live view
    std::uint32_t height = 1080;
    std::uint32_t capture_width = 3840;  // capture(): the "full-size" picture
    std::uint32_t capture_height = 2160;
  };
  test_pattern_camera();
  explicit test_pattern_camera(options o);

  std::string model() const override;
  std::vector<property> list_properties() override;
  property set_property(const std::string& name, const std::string& value) override;
  captured_file capture() override;
  void autofocus() override;
  void focus_step(focus_direction d, int steps) override;
  preview_frame capture_preview() override;

  // --- switches; safe to flip from any thread --------------------------------------
  // The next `calls` commands (everything but capture_preview) throw busy.
  void simulate_busy_commands(int calls) { busy_commands_ = calls; }
  // The next `calls` capture_preview() calls throw busy.
  void simulate_busy_previews(int calls) { busy_previews_ = calls; }
  // Every call throws no_camera while unplugged.
  void simulate_unplugged(bool unplugged) { unplugged_ = unplugged; }
  // Each call takes at least this long, as a real camera's USB round trips do.
  void simulate_command_time(std::chrono::microseconds t) { command_time_ = t.count(); }
  void simulate_preview_time(std::chrono::microseconds t) { preview_time_ = t.count(); }

  // Calls that were made (including refused ones), for tests.
  int commands_attempted() const { return commands_attempted_; }
  int previews_attempted() const { return previews_attempted_; }

 private:
  void enter_command();
  rgb_image draw(std::uint32_t width, std::uint32_t height, std::uint64_t frame) const;
  int live_view_quality() const;

  options options_;
  std::map<std::string, property> properties_;  // by name
  int focus_position_ = 50;                     // 0 (near) .. 100 (far)
  std::uint64_t frames_ = 0;
  std::uint64_t shots_ = 0;

  std::atomic<int> busy_commands_{0};
  std::atomic<int> busy_previews_{0};
  std::atomic<bool> unplugged_{false};
  std::atomic<std::int64_t> command_time_{0};
  std::atomic<std::int64_t> preview_time_{0};
  std::atomic<int> commands_attempted_{0};
  std::atomic<int> previews_attempted_{0};
};

}  // namespace tether::camera
