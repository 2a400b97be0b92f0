#include "camera/camera_service.hpp"

#include <algorithm>

#include "base/log.hpp"

namespace tether::camera {

namespace {
template <class... F>
struct overloaded : F... {
  using F::operator()...;
};
template <class... F>
overloaded(F...) -> overloaded<F...>;  // clang 14 has no aggregate deduction yet
}  // namespace

const char* to_string(camera_error::kind k) {
  switch (k) {
    case camera_error::kind::busy: return "busy";
    case camera_error::kind::no_camera: return "no camera";
    case camera_error::kind::unknown_property: return "unknown property";
    case camera_error::kind::bad_value: return "value not allowed";
    case camera_error::kind::unsupported: return "not supported";
    case camera_error::kind::failed: return "failed";
  }
  return "?";
}

std::string describe(const command& c) {
  return std::visit(
      overloaded{
          [](const commands::list_properties&) { return std::string("read the settings"); },
          [](const commands::set_property& s) { return "set " + s.name + " to " + s.value; },
          [](const commands::capture&) { return std::string("take a picture"); },
          [](const commands::autofocus&) { return std::string("autofocus"); },
          [](const commands::focus_step& f) {
            return std::string("move focus ") +
                   (f.direction == focus_direction::near ? "nearer" : "farther") + " by " +
                   std::to_string(f.steps);
          },
      },
      c);
}

camera_service::camera_service(std::unique_ptr<camera_backend> backend, options o)
    : backend_(std::move(backend)), options_(o), model_(backend_->model()) {
  thread_ = std::thread([this] { run(); });
}

camera_service::~camera_service() {
  {
    std::lock_guard lock(m_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void camera_service::submit(command c, std::function<void(command_outcome)> done) {
  {
    std::unique_lock lock(m_);
    if (queue_.size() >= options_.max_queued_commands) {
      lock.unlock();
      command_outcome o;
      o.error = camera_error(camera_error::kind::busy,
                             describe(c) + ": " + std::to_string(options_.max_queued_commands) +
                                 " commands are already waiting for the camera; try again once "
                                 "they are answered");
      done(std::move(o));
      return;
    }
    const auto now = clock::now();
    queue_.push_back(pending{std::move(c), std::move(done), now, now, {}, 0});
  }
  cv_.notify_all();
}

std::shared_ptr<live_view_subscription> camera_service::subscribe(std::function<void()> wake) {
  auto s = std::make_shared<live_view_subscription>(std::move(wake));
  {
    std::lock_guard lock(m_);
    subscribers_.push_back(s);
  }
  cv_.notify_all();
  return s;
}

void camera_service::unsubscribe(const std::shared_ptr<live_view_subscription>& s) {
  {
    std::lock_guard lock(m_);
    std::erase(subscribers_, s);
  }
  cv_.notify_all();
}

void camera_service::on_event(std::function<void(const service_event&)> handler) {
  std::lock_guard lock(m_);
  on_event_ = std::move(handler);
}

service_stats camera_service::stats() const {
  std::lock_guard lock(m_);
  return stats_;
}

std::string camera_service::model() const {
  std::lock_guard lock(m_);
  return model_;
}

camera_service::clock::duration camera_service::frame_period() const {
  if (options_.max_fps <= 0) return {};
  return std::chrono::duration_cast<clock::duration>(
      std::chrono::duration<double>(1.0 / options_.max_fps));
}

void camera_service::run() {
  std::unique_lock lock(m_);
  while (!stopping_) {
    const auto now = clock::now();
    const bool live = !subscribers_.empty();
    if (!live && previewing_) {
      // The last viewer left: let the camera drop its mirror and save power.
      previewing_ = false;
      lock.unlock();
      backend_->end_preview();
      lock.lock();
      continue;
    }
    const bool frame_due = live && now >= next_frame_due_ && now >= preview_not_before_;
    const bool command_ready = !queue_.empty() && now >= queue_.front().not_before;
    // The fairness rule: a command may run if none ran since the last frame, or if the
    // next frame is not due yet. Otherwise the frame goes first.
    if (command_ready && (!frame_due || commands_this_slot_ == 0)) {
      pending p = std::move(queue_.front());
      queue_.pop_front();
      ++commands_this_slot_;
      run_command(p, lock);
      continue;
    }
    if (frame_due) {
      commands_this_slot_ = 0;
      run_frame(lock);
      continue;
    }
    // Idle: nobody watches and nothing waits. Let the camera go after a while, so other
    // programs may use it (libgphoto2 holds the USB interface while it is open).
    const bool idle = !live && queue_.empty() && holding_ &&
                      options_.release_when_idle > std::chrono::milliseconds::zero();
    if (idle && now >= last_use_ + options_.release_when_idle) {
      holding_ = false;
      lock.unlock();
      backend_->release();
      log::info("camera: let go after " +
                std::to_string(
                    std::chrono::duration_cast<std::chrono::seconds>(options_.release_when_idle)
                        .count()) +
                " s unused (other programs may use it now)");
      lock.lock();
      continue;
    }
    // Nothing to do now: sleep until the next frame, the busy head's retry, the idle
    // release, or news.
    std::optional<clock::time_point> wake;
    if (live) wake = std::max(next_frame_due_, preview_not_before_);
    if (!queue_.empty())
      wake = wake ? std::min(*wake, queue_.front().not_before) : queue_.front().not_before;
    if (idle)
      wake = wake ? std::min(*wake, last_use_ + options_.release_when_idle)
                  : last_use_ + options_.release_when_idle;
    if (wake)
      cv_.wait_until(lock, *wake);
    else
      cv_.wait(lock);
  }
  // Commands still queued get an answer rather than silence.
  auto left = std::move(queue_);
  lock.unlock();
  for (auto& p : left) {
    command_outcome o;
    o.error = camera_error(camera_error::kind::failed, "the camera service is stopping");
    p.done(std::move(o));
  }
  if (previewing_) backend_->end_preview();
}

void camera_service::run_command(pending& p, std::unique_lock<std::mutex>& lock) {
  lock.unlock();
  command_outcome o = execute(p.what);
  const auto now = clock::now();
  holding_ = true;
  last_use_ = now;
  if (o.error && o.error->which() == camera_error::kind::busy &&
      now - p.submitted < options_.busy_give_up) {
    // Back to the head of the queue, to be tried again after the back-off; live view
    // runs meanwhile.
    p.backoff = p.backoff == clock::duration{}
                    ? clock::duration(options_.busy_backoff_first)
                    : std::min<clock::duration>(p.backoff * 2, options_.busy_backoff_max);
    p.not_before = now + p.backoff;
    ++p.busy_retries;
    log::debug(
        describe(p.what) + ": camera busy, retry " + std::to_string(p.busy_retries) + " in " +
        std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(p.backoff).count()) +
        " ms");
    lock.lock();
    ++stats_.busy_retries;
    queue_.push_front(std::move(p));
    return;
  }
  if (o.error && o.error->which() == camera_error::kind::busy)
    o.error =
        camera_error(camera_error::kind::busy, "the camera stayed busy for " +
                                                   std::to_string(options_.busy_give_up.count()) +
                                                   " ms: " + o.error->what());
  o.busy_retries = p.busy_retries;
  o.latency = now - p.submitted;
  camera_seen(!(o.error && o.error->which() == camera_error::kind::no_camera),
              o.error ? o.error->what() : "");
  p.done(std::move(o));
  lock.lock();
  ++stats_.commands;
}

command_outcome camera_service::execute(const command& c) {
  command_outcome o;
  try {
    std::visit(
        overloaded{
            [&](const commands::list_properties&) { o.value = backend_->list_properties(); },
            [&](const commands::set_property& s) {
              o.value = backend_->set_property(s.name, s.value);
            },
            [&](const commands::capture&) {
              o.value = backend_->capture();
              previewing_ = false;  // most bodies leave live view to shoot
            },
            [&](const commands::autofocus&) { backend_->autofocus(); },
            [&](const commands::focus_step& f) { backend_->focus_step(f.direction, f.steps); },
        },
        c);
  } catch (const camera_error& e) {
    o.error = e;
  } catch (const std::exception& e) {
    o.error = camera_error(camera_error::kind::failed, describe(c) + ": " + e.what());
  }
  return o;
}

void camera_service::run_frame(std::unique_lock<std::mutex>& lock) {
  const auto started = clock::now();
  holding_ = true;
  last_use_ = started;
  lock.unlock();
  std::optional<preview_frame> frame;
  std::optional<camera_error> error;
  try {
    frame = backend_->capture_preview();
    previewing_ = true;
  } catch (const camera_error& e) {
    error = e;
  } catch (const std::exception& e) {
    error = camera_error(camera_error::kind::failed, std::string("live view: ") + e.what());
  }
  const auto now = clock::now();
  if (error) {
    lock.lock();
    if (error->which() == camera_error::kind::busy) {
      ++stats_.busy_retries;
      preview_backoff_ =
          preview_backoff_ == clock::duration{}
              ? clock::duration(options_.busy_backoff_first)
              : std::min<clock::duration>(preview_backoff_ * 2, options_.busy_backoff_max);
    } else {
      ++stats_.preview_errors;
      preview_backoff_ = options_.absent_retry;
    }
    preview_not_before_ = now + preview_backoff_;
    lock.unlock();
    if (error->which() != camera_error::kind::busy) {
      log::debug("live view: " + std::string(error->what()));
      camera_seen(error->which() != camera_error::kind::no_camera, error->what());
    }
    lock.lock();
    return;
  }
  camera_seen(true, "");
  preview_backoff_ = {};
  frame->number = ++frame_number_;
  if (frame->captured == clock::time_point{}) frame->captured = now;
  auto shared = std::make_shared<const preview_frame>(std::move(*frame));

  lock.lock();
  // Frames keep to a fixed schedule, so waking a little late does not lower the rate
  // (60 fps stays 60, not 59.7); after falling a whole period behind (a slow frame,
  // live view just started) the schedule starts again from this frame rather than
  // bursting to catch up.
  next_frame_due_ += frame_period();
  if (next_frame_due_ < started) next_frame_due_ = started + frame_period();
  ++stats_.frames;
  // The rate over windows of a quarter second or more, so it follows changes quickly.
  if (fps_window_start_ == clock::time_point{}) fps_window_start_ = now;
  if (now - fps_window_start_ >= std::chrono::milliseconds(250)) {
    stats_.capture_fps = static_cast<double>(fps_window_frames_) /
                         std::chrono::duration<double>(now - fps_window_start_).count();
    fps_window_start_ = now;
    fps_window_frames_ = 0;
  }
  ++fps_window_frames_;
  std::vector<live_view_subscription*> to_wake;
  for (auto& s : subscribers_)
    if (s->mailbox_.put(shared)) to_wake.push_back(s.get());
  // wake() only posts, so calling it under the lock is cheap and keeps the subscriber
  // alive while it runs (unsubscribe takes the same lock).
  for (auto* s : to_wake) s->wake_();
}

void camera_service::camera_seen(bool present, const std::string& text) {
  std::function<void(const service_event&)> handler;
  std::string model;
  {
    // The model is known once the backend has opened the camera (the gphoto2 backend
    // says "(not connected)" until then, and a camera another program holds counts as
    // present before it is opened): hello, the viewer and the stats take it from here.
    // It is read again at the first success after anything else, not on every frame.
    const bool success = present && text.empty();
    if (!success || !model_fresh_) {
      model = backend_->model();
      model_fresh_ = success;
      std::lock_guard lock(m_);
      model_ = model;
    }
    if (camera_present_ == present) return;
    const bool first = !camera_present_.has_value();
    camera_present_ = present;
    if (first && present) return;  // present from the start: nothing to announce
    std::lock_guard lock(m_);
    handler = on_event_;
  }
  if (!handler) return;
  if (present)
    handler({service_event::kind::camera_found, this->model()});
  else
    handler({service_event::kind::camera_lost, text});
}

}  // namespace tether::camera
