#include "viewer/mjpeg_fanout.hpp"

#include <algorithm>

namespace tether::viewer {

void mjpeg_fanout::prune() {
  std::erase_if(streams_, [](const auto& w) {
    const auto s = w.lock();
    return !s || s->closed();
  });
}

bool mjpeg_fanout::full() {
  prune();
  return streams_.size() >= max_streams_;
}

void mjpeg_fanout::add(std::shared_ptr<http_stream> s) {
  if (s) streams_.push_back(s);
}

void mjpeg_fanout::publish(const live_frame& f) {
  const auto now = std::chrono::steady_clock::now();
  if (frames_ > 0 && f.sequence != last_sequence_ + 1) ++gaps_;
  ++frames_;
  last_sequence_ = f.sequence;
  age_ms_ = f.age_ms;
  width_ = f.width;
  height_ = f.height;
  recent_.push_back(now);
  while (recent_.front() < now - std::chrono::seconds(2) || recent_.size() > 1000)
    recent_.pop_front();

  prune();
  if (streams_.empty()) return;
  auto part = std::make_shared<std::string>();
  part->reserve(f.jpeg->size() + 100);
  *part += "--tetherframe\r\nContent-Type: image/jpeg\r\nContent-Length: " +
           std::to_string(f.jpeg->size()) + "\r\n\r\n";
  part->append(reinterpret_cast<const char*>(f.jpeg->data()), f.jpeg->size());
  *part += "\r\n";
  const std::shared_ptr<const std::string> shared = std::move(part);
  for (const auto& w : streams_)
    if (auto s = w.lock(); s && s->offer(shared)) ++replaced_;
}

nlohmann::json mjpeg_fanout::figures() {
  prune();
  const auto now = std::chrono::steady_clock::now();
  while (!recent_.empty() && recent_.front() < now - std::chrono::seconds(2)) recent_.pop_front();
  double fps = 0;
  if (recent_.size() >= 2)
    fps = static_cast<double>(recent_.size() - 1) /
          std::max(std::chrono::duration<double>(now - recent_.front()).count(), 1e-3);
  return {
      {"frames", frames_}, {"fps", fps},    {"age_ms", age_ms_},          {"width", width_},
      {"height", height_}, {"gaps", gaps_}, {"streams", streams_.size()}, {"replaced", replaced_}};
}

}  // namespace tether::viewer
