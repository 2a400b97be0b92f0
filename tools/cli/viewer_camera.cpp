#include "tools/cli/viewer_camera.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "tools/cli/cli_error.hpp"

namespace tether::cli {

namespace msg = proto::camera::messages;

viewer_camera::viewer_camera(cam_options where, std::unique_ptr<cam_client> first, callbacks cb)
    : where_(std::move(where)), cb_(std::move(cb)) {
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) throw cli_error(failed, std::string("eventfd: ") + std::strerror(errno));
  thread_ = std::thread([this, c = std::move(first)]() mutable { run(std::move(c)); });
}

viewer_camera::~viewer_camera() {
  stop();
  ::close(wake_fd_);
}

void viewer_camera::post(job j) {
  {
    std::lock_guard lock(m_);
    jobs_.push_back(std::move(j));
  }
  const std::uint64_t one = 1;
  [[maybe_unused]] const auto n = ::write(wake_fd_, &one, sizeof one);
}

void viewer_camera::stop(std::chrono::milliseconds grace) {
  std::unique_lock lock(m_);
  stopping_ = true;
  const std::uint64_t one = 1;
  [[maybe_unused]] const auto n = ::write(wake_fd_, &one, sizeof one);
  if (!finished_cv_.wait_for(lock, grace, [this] { return finished_; }) && connected_ != nullptr)
    connected_->interrupt();
  lock.unlock();
  if (thread_.joinable()) thread_.join();
}

void viewer_camera::connected(cam_client* c) {
  std::lock_guard lock(m_);
  connected_ = c;
}

bool viewer_camera::stopping() {
  std::lock_guard lock(m_);
  return stopping_;
}

void viewer_camera::wait_wake(int timeout_ms) {
  pollfd p{wake_fd_, POLLIN, 0};
  if (::poll(&p, 1, timeout_ms) > 0) {
    std::uint64_t count;
    [[maybe_unused]] const auto n = ::read(wake_fd_, &count, sizeof count);
  }
}

void viewer_camera::run_jobs(cam_client* client) {
  const cam_client::on_other other = [this](proto::camera::message&& m, std::uint32_t tag) {
    pass_on(std::move(m), tag);
  };
  for (;;) {
    job j;
    {
      std::lock_guard lock(m_);
      if (jobs_.empty()) return;
      j = std::move(jobs_.front());
      jobs_.pop_front();
    }
    j(client, other);
  }
}

void viewer_camera::pass_on(proto::camera::message&& m, std::uint32_t) {
  if (auto* f = std::get_if<msg::live_view_frame>(&m)) {
    // tether-camera is on this machine (a unix socket): its timestamps are this
    // machine's monotonic clock, as `tether cam liveview` assumes too.
    const auto now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                            std::chrono::steady_clock::now().time_since_epoch())
                            .count();
    cb_.frame({std::make_shared<const std::vector<std::byte>>(std::move(f->jpeg)), f->sequence,
               f->width, f->height,
               static_cast<double>(now_us - static_cast<std::int64_t>(f->timestamp_us)) / 1000.0});
    // Handed on: the next frame may come (PROTOCOL.md §6.2). Browsers that fall behind
    // lose frames in the fan-out, not here.
    if (acking_ != nullptr) acking_->notify(msg::live_view_ack{f->sequence});
  } else if (std::holds_alternative<msg::property_changed>(m)) {
    cb_.properties_changed();
  } else if (const auto* lost = std::get_if<msg::camera_lost>(&m)) {
    cb_.status(true, "the camera is gone" + (lost->reason.empty() ? "" : ": " + lost->reason));
  } else if (const auto* att = std::get_if<msg::camera_attached>(&m)) {
    cb_.status(true, "camera " + att->model);
  } else if (const auto* e = std::get_if<msg::error>(&m)) {
    cb_.status(true, "tether-camera: " + e->message);
  }
}

void viewer_camera::run(std::unique_ptr<cam_client> client) {
  bool live = false;
  while (!stopping()) {
    try {
      if (!client) client = std::make_unique<cam_client>(where_);
      connected(client.get());
      acking_ = client.get();
      if (!live) {
        // Two frames in flight: the link stays busy while this thread hands one on.
        client->request(msg::start_live_view{2},
                        [this](auto&& m, std::uint32_t tag) { pass_on(std::move(m), tag); });
        live = true;
        cb_.status(true, "live view from " + client->camera_name());
      }
      run_jobs(client.get());
      if (auto m = client->next_unless(wake_fd_))
        pass_on(std::move(m->first), m->second);
      else
        wait_wake(0);
    } catch (const cli_error& e) {
      acking_ = nullptr;
      connected(nullptr);
      client.reset();
      live = false;
      cb_.status(false, e.what());
      run_jobs(nullptr);
      wait_wake(1000);
    }
  }
  acking_ = nullptr;
  if (client && live) {
    try {
      client->request(msg::stop_live_view{}, {});
    } catch (const cli_error&) {
    }
  }
  connected(nullptr);
  client.reset();
  run_jobs(nullptr);
  std::lock_guard lock(m_);
  finished_ = true;
  finished_cv_.notify_all();
}

}  // namespace tether::cli
