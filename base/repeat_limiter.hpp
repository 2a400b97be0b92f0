#pragma once
// Log lines that repeat, at a falling rate. A booth's phone app is closed most of the
// day, and a camera service asks for its port every 2 s: one line per refusal would be
// 1800 lines an hour saying the same. The first occurrence of a kind is logged; repeats
// are counted, and a summary goes out after 10 s, then 20 s, 40 s, ... up to an hour
// between summaries. When the condition ends (forget()), or after an hour of quiet, the
// next occurrence is logged in full again. Sans-I/O: the caller passes the time.
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace tether::base {

class repeat_limiter {
 public:
  using clock = std::chrono::steady_clock;
  static constexpr std::chrono::seconds first_summary{10};
  static constexpr std::chrono::seconds longest_quiet{3600};
  // Bounded: a flood of distinct keys (one per port, say) forgets the oldest first.
  static constexpr std::size_t max_keys = 256;

  // The line to log for this occurrence of `key`, or nothing while repeats are counted.
  std::optional<std::string> note(const std::string& key, const std::string& text,
                                  clock::time_point now);
  // The condition is over (the port answered): the next occurrence is news again.
  void forget(const std::string& key) { seen_.erase(key); }
  std::size_t keys() const { return seen_.size(); }

 private:
  struct state {
    clock::time_point last_report;
    clock::time_point last_seen;
    std::chrono::seconds interval;
    std::uint64_t unreported = 0;
  };
  std::map<std::string, state> seen_;
};

}  // namespace tether::base
