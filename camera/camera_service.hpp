#pragma once
// The camera service: one thread owns the camera and runs everything that touches it,
// because cameras (and libgphoto2) take one request at a time. Controllers hand it
// commands through a queue and receive live view through one-slot mailboxes.
//
// Scheduling on the camera thread:
// - Live view runs while at least one subscriber exists, at most `max_fps`.
// - Commands have priority, but live view gets a slot between them: after each
//   live-view frame, queued commands run until the next frame is due, and always at
//   least one. A burst of commands therefore delays a frame by at most one command,
//   and continuous live view delays a command by at most one frame.
// - A busy camera (camera_error::kind::busy) is retried with back-off, doubling from
//   `busy_backoff_first` to `busy_backoff_max`, for at most `busy_give_up`. The command
//   keeps its place at the head of the queue (commands run in order) while live view
//   goes on in the gaps. A busy live-view frame backs off the same way.
// - The camera missing (no_camera) fails commands at once; live view retries every
//   `absent_retry` and reports the camera lost and found again through on_event.
// - Idle for `release_when_idle` (no viewer, no command), the camera is let go.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <variant>
#include <vector>

#include "base/latest_slot.hpp"
#include "camera/camera_backend.hpp"

namespace tether::camera {

namespace commands {
struct list_properties {};
struct set_property {
  std::string name;
  std::string value;
};
struct capture {};
struct autofocus {};
struct focus_step {
  focus_direction direction = focus_direction::near;
  int steps = 1;
};
}  // namespace commands
using command = std::variant<commands::list_properties, commands::set_property, commands::capture,
                             commands::autofocus, commands::focus_step>;
std::string describe(const command& c);  // "set iso to 800", for logs and errors

struct command_outcome {
  // monostate for autofocus and focus_step; a property for set_property.
  std::variant<std::monostate, std::vector<property>, property, captured_file> value;
  std::optional<camera_error> error;
  int busy_retries = 0;
  std::chrono::steady_clock::duration latency{};  // submitted to finished
};

// One controller's live view: its mailbox and a wake-up for when the mailbox goes from
// empty to full. wake() runs on the camera thread and must only post work elsewhere.
class live_view_subscription {
 public:
  explicit live_view_subscription(std::function<void()> wake) : wake_(std::move(wake)) {}
  // The newest frame, or nullptr when none arrived since the last take.
  frame_ptr take() { return mailbox_.take().value_or(nullptr); }
  // Frames replaced in the mailbox before this consumer took them.
  std::uint64_t dropped() const { return mailbox_.replaced(); }

 private:
  friend class camera_service;
  base::latest_slot<frame_ptr> mailbox_;
  std::function<void()> wake_;
};

struct service_event {
  enum class kind { camera_found, camera_lost } what;
  std::string text;  // the model, or why it was lost
};

struct service_stats {
  double capture_fps = 0;  // live-view frames from the camera, over the last ~250 ms
  std::uint64_t frames = 0;
  std::uint64_t commands = 0;
  std::uint64_t busy_retries = 0;  // commands and frames together
  std::uint64_t preview_errors = 0;
};

class camera_service {
 public:
  using clock = std::chrono::steady_clock;
  struct options {
    double max_fps = 30;  // 0: as fast as the camera delivers
    std::chrono::milliseconds busy_backoff_first{10};
    std::chrono::milliseconds busy_backoff_max{500};
    std::chrono::milliseconds busy_give_up{10000};
    std::chrono::milliseconds absent_retry{1000};
    // Commands waiting, from every controller together; beyond, submit() fails at once.
    // Each controller has at most 8 in flight (controller_session.cpp), so this is eight
    // controllers all waiting on a slow camera; more waiting would only add latency.
    std::size_t max_queued_commands = 64;
    // With no viewer and no command for this long, the camera is let go (the backend's
    // release()), so `gphoto2` or a photo import can use it; 0 keeps it. The next
    // command or viewer opens it again.
    std::chrono::milliseconds release_when_idle{10000};
  };

  camera_service(std::unique_ptr<camera_backend> backend, options o);
  explicit camera_service(std::unique_ptr<camera_backend> backend)
      : camera_service(std::move(backend), options{}) {}
  ~camera_service();  // stops the thread after the command in progress
  camera_service(const camera_service&) = delete;
  camera_service& operator=(const camera_service&) = delete;

  // Queues a command; `done` runs on the camera thread when it finished or failed, or
  // at once on this thread (an error, kind busy) when max_queued_commands wait already.
  void submit(command c, std::function<void(command_outcome)> done);

  // Live view runs while any subscription exists. wake() may still run once after
  // unsubscribe() returns, so it should hold its target weakly.
  std::shared_ptr<live_view_subscription> subscribe(std::function<void()> wake);
  void unsubscribe(const std::shared_ptr<live_view_subscription>& s);

  // Runs on the camera thread; set before the first command.
  void on_event(std::function<void(const service_event&)> handler);

  service_stats stats() const;
  std::string model() const;

 private:
  struct pending {
    command what;
    std::function<void(command_outcome)> done;
    clock::time_point submitted;
    clock::time_point not_before;  // after a busy answer
    clock::duration backoff{};
    int busy_retries = 0;
  };
  void run();
  // Both are called with the lock released; they return whether the camera answered.
  void run_command(pending& p, std::unique_lock<std::mutex>& lock);
  void run_frame(std::unique_lock<std::mutex>& lock);
  command_outcome execute(const command& c);
  void camera_seen(bool present, const std::string& text);
  clock::duration frame_period() const;

  std::unique_ptr<camera_backend> backend_;  // camera thread only
  const options options_;

  mutable std::mutex m_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::deque<pending> queue_;
  std::vector<std::shared_ptr<live_view_subscription>> subscribers_;
  std::function<void(const service_event&)> on_event_;
  service_stats stats_;
  std::string model_;

  // Camera thread only.
  clock::time_point next_frame_due_{};
  clock::time_point preview_not_before_{};
  clock::duration preview_backoff_{};
  int commands_this_slot_ = 0;
  bool previewing_ = false;
  bool holding_ = false;          // the backend was used since the last release()
  clock::time_point last_use_{};  // the last command or frame
  std::optional<bool> camera_present_;
  bool model_fresh_ = false;  // model_ was read at a success, with none but successes since
  std::uint64_t frame_number_ = 0;
  clock::time_point fps_window_start_{};
  std::uint64_t fps_window_frames_ = 0;

  std::thread thread_;  // last: starts after everything above exists
};

}  // namespace tether::camera
