#pragma once
// Notices a peer that has gone quiet on us: we are waiting for it (it was sent bytes
// and has not answered; it has output it does not take) and the wait has lasted
// `limit`. A phone app in the background does exactly that: its phone accepts the
// connection and then the app says nothing (PROTOCOL.md §1.1). The watch says so once
// per connection, for one log line in words; it never ends anything by itself.
// Sans-I/O: the caller passes the time and keeps the timer.
#include <chrono>
#include <optional>

namespace tether::base {

class silence_watch {
 public:
  using clock = std::chrono::steady_clock;

  explicit silence_watch(clock::duration limit) : limit_(limit) {}

  // We started waiting for the peer at `now` (it was sent bytes). Returns when to call
  // due() if this started a wait, nothing if one was running already (it keeps its start).
  std::optional<clock::time_point> waiting(clock::time_point now) {
    if (since_) return std::nullopt;
    since_ = now;
    return now + limit_;
  }
  // The peer answered: the wait is over. True when it had been reported silent, so the
  // caller can say it is back.
  bool answered() {
    since_.reset();
    const bool was = silent_;
    silent_ = false;
    return was;
  }
  // True once per connection: the wait running at `now` has lasted the limit.
  bool due(clock::time_point now) {
    if (reported_ || !since_ || now - *since_ < limit_) return false;
    reported_ = silent_ = true;
    return true;
  }
  // When the running wait is due, for re-arming a timer that fired early.
  std::optional<clock::time_point> deadline() const {
    if (reported_ || !since_) return std::nullopt;
    return *since_ + limit_;
  }
  clock::duration limit() const { return limit_; }

 private:
  clock::duration limit_;
  std::optional<clock::time_point> since_;
  bool reported_ = false;  // said once for this connection
  bool silent_ = false;    // said, and no answer since
};

}  // namespace tether::base
