// The camera service's scheduling, on the test-pattern camera: newest-frame-wins for a
// slow consumer, busy retries that do not stop live view, and fairness between a burst
// of commands and continuous live view. Fairness is asserted on the order of events;
// the few wall-clock bounds left are wide (2 shared cores, sanitizers), not figures.
#include "camera/camera_service.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "camera/test_pattern_camera.hpp"

namespace tether::camera {
namespace {

using namespace std::chrono_literals;

// Wall-clock bounds stretch under the sanitizers (JPEG encoding runs 3-10x slower);
// what they check (no starvation either way) does not change.
#if defined(__SANITIZE_THREAD__)
constexpr double slack = 10.0;
#elif defined(__SANITIZE_ADDRESS__)
constexpr double slack = 4.0;
#else
constexpr double slack = 1.0;
#endif
using clock_type = std::chrono::steady_clock;

double ms(clock_type::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

struct fixture {
  test_pattern_camera* cam = nullptr;  // owned by the service
  std::unique_ptr<camera_service> service;

  explicit fixture(camera_service::options o = fast_options(),
                   test_pattern_camera::options co = small_camera()) {
    auto c = std::make_unique<test_pattern_camera>(co);
    cam = c.get();
    service = std::make_unique<camera_service>(std::move(c), o);
  }
  static camera_service::options fast_options() {
    camera_service::options o;
    o.max_fps = 50;
    o.busy_backoff_first = 5ms;
    o.busy_backoff_max = 40ms;
    o.busy_give_up = 2000ms;
    o.absent_retry = 50ms;
    return o;
  }
  static test_pattern_camera::options small_camera() {
    test_pattern_camera::options o;
    o.width = 160;
    o.height = 90;
    o.capture_width = 320;
    o.capture_height = 180;
    return o;
  }
  command_outcome run(command c) {
    std::promise<command_outcome> p;
    auto f = p.get_future();
    service->submit(std::move(c), [&](command_outcome o) { p.set_value(std::move(o)); });
    return f.get();
  }
};

// A consumer that records when each frame reached it.
struct consumer {
  std::mutex m;
  std::condition_variable cv;
  bool woken = false;
  std::shared_ptr<live_view_subscription> sub;
  std::vector<std::pair<std::uint64_t, clock_type::time_point>> arrivals;

  explicit consumer(camera_service& s)
      : sub(s.subscribe([this] {
          std::lock_guard lock(m);
          woken = true;
          cv.notify_all();
        })) {}
  // Waits for a wake-up and takes the newest frame.
  frame_ptr next(std::chrono::milliseconds timeout = 2000ms) {
    std::unique_lock lock(m);
    if (!cv.wait_for(lock, timeout, [&] { return woken; })) return nullptr;
    woken = false;
    lock.unlock();
    auto f = sub->take();
    if (f) arrivals.emplace_back(f->number, clock_type::now());
    return f;
  }
  // Takes frames until `until`, returning the longest gap between two.
  clock_type::duration collect_until(clock_type::time_point until) {
    clock_type::duration longest{};
    auto last = clock_type::now();
    while (clock_type::now() < until) {
      if (!next(200ms)) continue;
      longest = std::max(longest, clock_type::now() - last);
      last = clock_type::now();
    }
    return longest;
  }
};

TEST(CameraService, SlowConsumerGetsTheNewestFrameNotAQueue) {
  fixture fx;
  consumer slow(*fx.service);
  const auto made_before = fx.service->stats().frames;
  std::vector<double> ages;
  std::uint64_t last = 0;
  for (int i = 0; i < 8; ++i) {
    std::this_thread::sleep_for(100ms);  // five frames' worth of dawdling
    auto f = slow.next();
    ASSERT_TRUE(f);
    const auto published = fx.service->stats().frames;
    // Newest wins: what it takes is the last frame made (or the one before, if a new
    // one landed in between), never one from before its nap.
    EXPECT_GE(f->number + 1, published);
    EXPECT_GT(f->number, last);
    last = f->number;
    ages.push_back(ms(clock_type::now() - f->captured));
  }
  // Frames it did not take were replaced, not queued: all but the eight it took (and
  // at most one waiting in its slot now) were dropped.
  const auto made = fx.service->stats().frames - made_before;
  EXPECT_GE(slow.sub->dropped() + 8 + 1, made);
  EXPECT_GT(made, 9u);  // the camera kept going while the consumer dawdled
  // Its frames stay fresh, however slow it is: a queue would hand it frames about 700 ms
  // old by the eighth read. Typically they are under 20 ms; the bound leaves room for a
  // machine so loaded that the camera thread itself waits.
  for (double a : ages) EXPECT_LT(a, 250.0 * slack);
  fx.service->unsubscribe(slow.sub);
}

TEST(CameraService, FastConsumerGetsEveryFrameInOrder) {
  // Under TSan no consumer is fast enough to see every frame: scripts/test's TSan stage
  // leaves this test out by name (the other tests exercise the same paths for races).
  // 20 fps: "fast" is 50 ms to take each frame, which a loaded CI machine still gives a
  // waiting thread; the rule under test (nothing dropped when the consumer keeps up) is
  // the same at any rate.
  auto o = fixture::fast_options();
  o.max_fps = 20;
  fixture fx(o);
  consumer fast(*fx.service);
  fast.collect_until(clock_type::now() + 1000ms);
  ASSERT_GE(fast.arrivals.size(), 10u);
  for (std::size_t i = 1; i < fast.arrivals.size(); ++i)
    EXPECT_EQ(fast.arrivals[i].first, fast.arrivals[i - 1].first + 1);
  EXPECT_EQ(fast.sub->dropped(), 0u);
  const auto s = fx.service->stats();
  EXPECT_GT(s.capture_fps, 10);
  EXPECT_LT(s.capture_fps, 25);  // capped at max_fps
}

TEST(CameraService, BusyCameraIsRetriedWhileLiveViewGoesOn) {
  fixture fx;
  consumer viewer(*fx.service);
  ASSERT_TRUE(viewer.next());
  fx.cam->simulate_busy_commands(5);  // back-off 5 + 10 + 20 + 40 + 40 ms
  std::promise<command_outcome> p;
  auto done = p.get_future();
  const auto start = clock_type::now();
  fx.service->submit(commands::set_property{"iso", "800"},
                     [&](command_outcome o) { p.set_value(std::move(o)); });
  const auto frames_before = fx.service->stats().frames;
  while (done.wait_for(0ms) != std::future_status::ready) viewer.next(200ms);
  const auto o = done.get();
  ASSERT_FALSE(o.error) << o.error->what();
  EXPECT_EQ(std::get<property>(o.value).value, "800");
  EXPECT_EQ(o.busy_retries, 5);
  EXPECT_GE(ms(clock_type::now() - start), 100.0);
  // Live view ran during the ~115 ms of retries (about 5 frames at 50 fps).
  EXPECT_GE(fx.service->stats().frames - frames_before, 3u);
}

TEST(CameraService, CameraThatStaysBusyFailsWithTheReason) {
  auto o = fixture::fast_options();
  o.busy_give_up = 150ms;
  fixture fx(o);
  fx.cam->simulate_busy_commands(1000);
  const auto r = fx.run(commands::autofocus{});
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->which(), camera_error::kind::busy);
  EXPECT_NE(std::string(r.error->what()).find("stayed busy"), std::string::npos);
  EXPECT_GE(r.busy_retries, 3);
}

TEST(CameraService, BusyPreviewBacksOffAndLiveViewResumes) {
  fixture fx;
  fx.cam->simulate_busy_previews(4);
  consumer viewer(*fx.service);
  ASSERT_TRUE(viewer.next());
  EXPECT_GE(fx.service->stats().busy_retries, 4u);
  EXPECT_TRUE(viewer.next());
}

// Fairness is checked by the order of events, not by wall-clock gaps: a loaded CI
// machine stretches every gap (a 215 ms one was seen), never the order. Each command's
// callback runs on the service thread and notes how many frames had been made by then.
TEST(CameraService, BurstOfCommandsDoesNotStopLiveView) {
  auto opts = fixture::fast_options();
  opts.max_queued_commands = 100;  // the whole burst waits (the bound has its own test)
  fixture fx(opts);
  fx.cam->simulate_command_time(5ms);  // 100 commands: half a second of camera time
  consumer viewer(*fx.service);
  ASSERT_TRUE(viewer.next());
  std::mutex m;
  std::vector<std::uint64_t> frames_at;  // frames made when each command finished
  std::atomic<int> failed{0};
  for (int i = 0; i < 100; ++i)
    fx.service->submit(commands::set_property{"iso", i % 2 ? "800" : "400"},
                       [&](command_outcome o) {
                         failed += o.error.has_value();
                         const auto frames = fx.service->stats().frames;
                         std::lock_guard lock(m);
                         frames_at.push_back(frames);
                       });
  const auto received_before = viewer.arrivals.size();
  const auto give_up = clock_type::now() + 60s;
  auto finished = [&] {
    std::lock_guard lock(m);
    return frames_at.size() == 100;
  };
  while (!finished() && clock_type::now() < give_up) viewer.next(100ms);
  ASSERT_TRUE(finished());
  EXPECT_EQ(failed, 0);
  // A frame slot is 20 ms and a command at least 5 ms: commands start while the frame
  // is not yet due (at most 4 of them) plus one after it fell due, then the frame goes
  // first. Six in a row with no frame between them would mean the burst held the
  // camera; 100 in a row is what running the queue to the end would look like.
  std::size_t run = 1, longest = 1;
  for (std::size_t i = 1; i < frames_at.size(); ++i) {
    run = frames_at[i] == frames_at[i - 1] ? run + 1 : 1;
    longest = std::max(longest, run);
  }
  EXPECT_LE(longest, 5u);
  // And the frames made during the burst reached the viewer.
  EXPECT_GE(viewer.arrivals.size() - received_before, 3u);
}

TEST(CameraService, ContinuousLiveViewDoesNotStarveCommands) {
  auto o = fixture::fast_options();
  o.max_fps = 0;  // as fast as the camera goes: a frame is always due
  fixture fx(o);
  fx.cam->simulate_preview_time(10ms);
  consumer viewer(*fx.service);
  ASSERT_TRUE(viewer.next());
  std::uint64_t most_frames_waited = 0;
  for (int i = 0; i < 20; ++i) {
    const auto before = fx.service->stats().frames;
    // Shared, so a command answered after a failed wait finds its promise alive.
    auto done = std::make_shared<std::promise<std::pair<command_outcome, std::uint64_t>>>();
    auto answer = done->get_future();
    fx.service->submit(commands::set_property{"aperture", i % 2 ? "f/8" : "f/4"},
                       [done, service = fx.service.get()](command_outcome r) {
                         done->set_value({std::move(r), service->stats().frames});
                       });
    ASSERT_EQ(answer.wait_for(10s), std::future_status::ready) << "the command starved";
    const auto [r, after] = answer.get();
    ASSERT_FALSE(r.error);
    most_frames_waited = std::max(most_frames_waited, after - before);
    viewer.sub->take();
  }
  // A queued command waits for the frame in progress and no more: one frame, or two if
  // one finished between reading the count and submitting. Without the fairness rule
  // it would wait forever, a frame being always due.
  EXPECT_LE(most_frames_waited, 2u);
  EXPECT_GT(fx.service->stats().frames, 20u);
}

TEST(CameraService, CommandsRunInOrder) {
  fixture fx;
  std::vector<std::string> applied;
  std::mutex m;
  std::promise<void> all;
  for (const char* v : {"100", "200", "400", "800", "1600"})
    fx.service->submit(commands::set_property{"iso", v}, [&](command_outcome o) {
      std::lock_guard lock(m);
      applied.push_back(std::get<property>(o.value).value);
      if (applied.size() == 5) all.set_value();
    });
  all.get_future().wait();
  EXPECT_EQ(applied, (std::vector<std::string>{"100", "200", "400", "800", "1600"}));
}

TEST(CameraService, MissingCameraFailsCommandsAndIsReportedLostAndFound) {
  fixture fx;
  std::mutex m;
  std::condition_variable cv;
  std::vector<service_event> events;
  fx.service->on_event([&](const service_event& e) {
    std::lock_guard lock(m);
    events.push_back(e);
    cv.notify_all();
  });
  consumer viewer(*fx.service);
  ASSERT_TRUE(viewer.next());
  fx.cam->simulate_unplugged(true);
  const auto r = fx.run(commands::capture{});
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->which(), camera_error::kind::no_camera);
  EXPECT_EQ(r.busy_retries, 0);
  fx.cam->simulate_unplugged(false);
  std::unique_lock lock(m);
  ASSERT_TRUE(cv.wait_for(lock, 2s, [&] { return events.size() >= 2; }));
  EXPECT_EQ(events[0].what, service_event::kind::camera_lost);
  EXPECT_EQ(events[1].what, service_event::kind::camera_found);
  lock.unlock();
  EXPECT_TRUE(viewer.next());
}

TEST(CameraService, CaptureReturnsTheFile) {
  fixture fx;
  const auto r = fx.run(commands::capture{});
  ASSERT_FALSE(r.error);
  const auto& f = std::get<captured_file>(r.value);
  EXPECT_EQ(f.mime, "image/jpeg");
  EXPECT_GT(f.bytes.size(), 1000u);
}

TEST(CameraService, StopsWithCommandsQueuedAndAnswersThem) {
  std::atomic<int> answered{0};
  {
    fixture fx;
    fx.cam->simulate_command_time(20ms);
    for (int i = 0; i < 10; ++i)
      fx.service->submit(commands::autofocus{}, [&](command_outcome) { ++answered; });
  }
  EXPECT_EQ(answered, 10);
}

TEST(CameraService, RefusesCommandsBeyondTheQueueBound) {
  auto opts = fixture::fast_options();
  opts.max_queued_commands = 4;
  fixture fx(opts);
  fx.cam->simulate_command_time(300ms);
  std::atomic<int> refused{0}, done{0};
  // One runs, four wait; the rest are refused at once, on this thread, with the reason.
  for (int i = 0; i < 10; ++i)
    fx.service->submit(commands::autofocus{}, [&](command_outcome out) {
      if (out.error && out.error->which() == camera_error::kind::busy) {
        ++refused;
        EXPECT_NE(std::string(out.error->what()).find("already waiting"), std::string::npos);
      } else {
        ++done;
      }
    });
  EXPECT_GE(refused, 5);  // 10 - 1 running - 4 waiting (fewer run if the first is slow)
  EXPECT_LE(refused, 6);
  // A command submitted once the queue drained runs again.
  fx.cam->simulate_command_time(0ms);
  const auto until = clock_type::now() + std::chrono::milliseconds(static_cast<int>(5000 * slack));
  while (refused + done < 10 && clock_type::now() < until) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(refused + done, 10);
  EXPECT_FALSE(fx.run(commands::list_properties{}).error);
}

}  // namespace
}  // namespace tether::camera

namespace tether::camera {
namespace {

// A camera that counts how often the service let it go.
struct releasing_camera : test_pattern_camera {
  explicit releasing_camera(test_pattern_camera::options o) : test_pattern_camera(o) {}
  void release() override { ++releases; }
  std::atomic<int> releases{0};
};

TEST(CameraService, IdleCameraIsLetGoAndTakenBackOnUse) {
  auto o = fixture::fast_options();
  o.release_when_idle = 150ms;
  auto owned = std::make_unique<releasing_camera>(fixture::small_camera());
  auto* cam = owned.get();
  camera_service service(std::move(owned), o);
  auto run = [&](command c) {
    std::promise<command_outcome> p;
    auto f = p.get_future();
    service.submit(std::move(c), [&](command_outcome out) { p.set_value(std::move(out)); });
    return f.get();
  };
  std::this_thread::sleep_for(400ms * slack);
  EXPECT_EQ(cam->releases, 0) << "never used: nothing to let go";
  EXPECT_FALSE(run(commands::list_properties{}).error);
  std::this_thread::sleep_for(600ms * slack);
  EXPECT_EQ(cam->releases, 1) << "let go once after 150 ms unused";
  // A viewer holds it: no release while live view runs, one after the viewer leaves.
  auto sub = service.subscribe([] {});
  std::this_thread::sleep_for(500ms * slack);
  EXPECT_EQ(cam->releases, 1);
  service.unsubscribe(sub);
  std::this_thread::sleep_for(600ms * slack);
  EXPECT_EQ(cam->releases, 2);
}

TEST(CameraService, ReleaseWhenIdleZeroKeepsTheCamera) {
  auto o = fixture::fast_options();
  o.release_when_idle = 0ms;
  auto owned = std::make_unique<releasing_camera>(fixture::small_camera());
  auto* cam = owned.get();
  camera_service service(std::move(owned), o);
  std::promise<void> p;
  service.submit(commands::list_properties{}, [&](command_outcome) { p.set_value(); });
  p.get_future().get();
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(cam->releases, 0);
}

}  // namespace
}  // namespace tether::camera
