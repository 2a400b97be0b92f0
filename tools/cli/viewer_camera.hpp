#pragma once
// The viewer's connection to tether-camera, owned by one thread, as cam_client wants
// it (blocking, one user). That thread keeps live view running and hands every frame
// and event on; between frames it runs the jobs other threads post (set a property,
// capture, focus), one at a time on the same connection, and frames that arrive while
// a job waits for its reply are handed on too. If tether-camera goes away it tries
// again every second, and jobs meanwhile get no connection.
#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tools/cli/cam_client.hpp"
#include "viewer/live_frame.hpp"

namespace tether::cli {

class viewer_camera {
 public:
  using live_frame = viewer::live_frame;
  struct callbacks {  // all called on the camera thread
    std::function<void(live_frame)> frame;
    std::function<void(bool connected, const std::string& text)> status;
    std::function<void()> properties_changed;  // a property_changed event (anyone's set)
  };
  // A job runs on the camera thread with the connection (nullptr when there is none)
  // and the hand-off for frames that are not its reply (cam_client::request's `other`).
  // It must not throw.
  using job = std::function<void(cam_client* client, const cam_client::on_other& pass_on)>;

  // `first` is the connection made before (so that failing to reach tether-camera is
  // reported to the user at once); the thread starts live view on it.
  viewer_camera(cam_options where, std::unique_ptr<cam_client> first, callbacks cb);
  ~viewer_camera();
  viewer_camera(const viewer_camera&) = delete;
  viewer_camera& operator=(const viewer_camera&) = delete;

  void post(job j);  // any thread
  // Stops live view and the thread; jobs not run yet run without a connection. A camera
  // request still waiting for its reply (an autofocus, a capture) gets `grace` to finish,
  // then the connection is cut, so Ctrl-C never waits on the camera.
  void stop(std::chrono::milliseconds grace = std::chrono::milliseconds(500));

 private:
  void run(std::unique_ptr<cam_client> first);
  void connected(cam_client* c);  // under m_, for stop()
  void run_jobs(cam_client* client);
  void pass_on(proto::camera::message&& m, std::uint32_t tag);
  // The live connection, for acknowledging frames as they are handed on (camera
  // thread only; null while disconnected).
  cam_client* acking_ = nullptr;
  bool stopping();
  void wait_wake(int timeout_ms);

  cam_options where_;  // tether-camera's socket, or the phone app (--phone), to reconnect
  callbacks cb_;
  int wake_fd_ = -1;  // eventfd: a job was posted, or stop
  std::mutex m_;
  std::condition_variable finished_cv_;
  std::deque<job> jobs_;
  bool stopping_ = false;
  bool finished_ = false;
  cam_client* connected_ = nullptr;  // the thread's connection, for stop() to cut
  std::thread thread_;
};

}  // namespace tether::cli
