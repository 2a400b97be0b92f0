#include "usbmux/testing/memory_phone.hpp"

#include <array>
#include <asio/post.hpp>
#include <chrono>

namespace tether::usbmux::testing {

namespace {
time_point now() { return std::chrono::steady_clock::now(); }
}  // namespace

memory_phone::memory_phone(asio::io_context& io, listener& l, phone_facts facts,
                           session_options host, device_options device)
    : io_(io),
      listener_(l),
      facts_(std::move(facts)),
      host_(host),
      device_(device),
      link_(host_, device_),
      timer_(io) {
  link_.set_tap([this](direction, std::span<const std::byte>) { count_op(); });
}

memory_phone::~memory_phone() = default;

void memory_phone::start() {
  host_.start(now());
  flush();
}

void memory_phone::serve(std::uint16_t port, app a) {
  apps_[port] = a;
  device_.listen(port);
}

void memory_phone::release(std::uint16_t port) {
  apps_[port] = app::echo;
  for (const auto& [id, p] : conns_)
    if (p == port) serve_connection(id);
  flush();
}

// Counts one operation; true when it is the one chosen to fail.
bool memory_phone::count_op() {
  if (fail_at_ && ops_ == *fail_at_ && !stopping_) {
    ++ops_;
    // As a USB transfer failing would: a failure, not an unplug.
    shut_down(link_errc::transfer_failed,
              "injected failure at operation " + std::to_string(*fail_at_));
    return true;
  }
  ++ops_;
  return false;
}

void memory_phone::flush() {
  if (stopping_ || count_op()) return;
  schedule();
}

void memory_phone::schedule() {
  if (scheduled_ || stopping_) return;
  scheduled_ = true;
  asio::post(io_, [this, alive = std::weak_ptr<int>(alive_)] {
    if (alive.expired()) return;
    scheduled_ = false;
    run();
  });
}

// Moves packets and hands out events until the cable is quiet. Like a USB transfer
// completing, it runs from the io_context, never inside the caller's flush().
void memory_phone::run() {
  // Bounded: a livelock would be a bug, and the test should see it stall, not hang.
  for (int rounds = 0; !stopping_ && rounds < 100000; ++rounds) {
    std::size_t work = link_.pump();
    if (link_.error())
      return shut_down(link_errc::protocol_error, "protocol failure: " + link_.error().message());
    work += device_events();
    if (stopping_) return;
    work += host_events();
    if (work == 0) break;
  }
  if (!stopping_) arm_timer();
}

std::size_t memory_phone::device_events() {
  std::size_t n = 0;
  while (auto e = device_.poll_event()) {
    ++n;
    if (const auto* a = std::get_if<events::accepted>(&*e)) {
      conns_[a->id] = a->port;
      if (apps_[a->port] == app::source) serve_connection(a->id);
    } else if (const auto* r = std::get_if<events::readable>(&*e)) {
      serve_connection(r->id);
    } else if (const auto* w = std::get_if<events::writable>(&*e)) {
      serve_connection(w->id);
    } else if (const auto* c = std::get_if<events::closed>(&*e)) {
      conns_.erase(c->id);
      (void)device_.close(c->id, now());
    }
  }
  return n;
}

// The app reads what it can answer: an echo takes no more than the send buffer has
// room for, so the host's window is what holds a fast sender back.
void memory_phone::serve_connection(conn_id id) {
  auto it = conns_.find(id);
  if (it == conns_.end() || apps_[it->second] == app::hold) return;
  const auto data = device_.received(id);
  if (apps_[it->second] == app::sink) {
    bytes_read_ += data.size();
    return device_.consume(id, data.size(), now());
  }
  if (apps_[it->second] == app::source) {
    static const std::array<std::byte, 65536> zeros{};
    while (true) {
      const std::size_t room = std::min(device_.send_space(id), zeros.size());
      const auto took = device_.send(id, std::span(zeros).first(room));
      if (!took || *took == 0) break;
    }
    return device_.notify_writable(id);
  }
  const std::size_t n = std::min(data.size(), device_.send_space(id));
  if (n > 0) {
    const auto took = device_.send(id, data.first(n));
    if (!took) return;
    bytes_read_ += *took;
    device_.consume(id, *took, now());
  }
  // More waits than the send buffer took: go on once it drains.
  if (n < data.size()) device_.notify_writable(id);
}

std::size_t memory_phone::host_events() {
  std::size_t n = 0;
  while (!stopping_) {
    auto e = host_.poll_event();
    if (!e) break;
    ++n;
    if (std::holds_alternative<events::handshake_done>(*e)) {
      if (!ready_) {
        ready_ = true;
        listener_.on_ready(*this);
      }
      continue;
    }
    listener_.on_event(*this, *e);
  }
  return n;
}

void memory_phone::arm_timer() {
  auto next = host_.next_deadline();
  if (auto d = device_.next_deadline(); d && (!next || *d < *next)) next = d;
  if (!next) return;
  timer_.expires_at(*next);
  timer_.async_wait([this, alive = std::weak_ptr<int>(alive_)](std::error_code ec) {
    if (ec || alive.expired() || stopping_) return;
    const auto t = now();
    if (auto err = host_.on_timer(t))
      return shut_down(link_errc::protocol_error, "host session: " + err.message());
    (void)device_.on_timer(t);
    schedule();
  });
}

void memory_phone::shut_down(std::error_code why, const std::string& detail) {
  if (stopping_) return;
  stopping_ = true;
  why_ = why;
  detail_ = detail;
  timer_.cancel();
  // As device_link: on_gone comes from a posted handler, so the owner may destroy
  // the link in it.
  asio::post(io_, [this, alive = std::weak_ptr<int>(alive_)] {
    if (alive.expired() || gone_) return;
    gone_ = true;
    listener_.on_gone(*this, why_, detail_);
  });
}

}  // namespace tether::usbmux::testing
