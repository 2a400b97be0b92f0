#include "base/repeat_limiter.hpp"

#include <algorithm>

namespace tether::base {

std::optional<std::string> repeat_limiter::note(const std::string& key, const std::string& text,
                                                clock::time_point now) {
  auto it = seen_.find(key);
  if (it == seen_.end() || now - it->second.last_seen > longest_quiet) {
    if (it == seen_.end() && seen_.size() >= max_keys) {
      seen_.erase(std::min_element(seen_.begin(), seen_.end(), [](const auto& a, const auto& b) {
        return a.second.last_seen < b.second.last_seen;
      }));
    }
    seen_[key] = {now, now, first_summary, 0};
    return text;
  }
  state& s = it->second;
  s.last_seen = now;
  ++s.unreported;
  if (now - s.last_report < s.interval) return std::nullopt;
  const auto over = std::chrono::duration_cast<std::chrono::seconds>(now - s.last_report);
  std::string line = text + " (" + std::to_string(s.unreported) + " times in the last " +
                     std::to_string(over.count()) + " s; next summary in " +
                     std::to_string(std::min(s.interval * 2, longest_quiet).count()) + " s)";
  s.last_report = now;
  s.interval = std::min(s.interval * 2, longest_quiet);
  s.unreported = 0;
  return line;
}

}  // namespace tether::base
