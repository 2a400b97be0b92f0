#include "daemon/reverse_pool.hpp"

#include "base/log.hpp"
#include "daemon/dialer.hpp"
#include "daemon/relay.hpp"

namespace tether::daemon {

namespace {
// A service on another host may never answer a SYN; the line gives up on it after this.
constexpr std::chrono::seconds local_connect_limit{5};
}  // namespace

// One line: the phone's connection first (the app must be listening), then the
// service's, then a relay between the two.
class reverse_pool::line : public std::enable_shared_from_this<line> {
 public:
  explicit line(std::shared_ptr<reverse_pool> pool)
      : pool_(std::move(pool)), socket_(pool_->io_), timer_(pool_->io_) {
    const auto& s = pool_->spec_;
    who_ = "reverse " + s.name + " to " + s.local_address + ":" + std::to_string(s.local_port);
  }

  void start() {
    dialer::dial(pool_->devices_, pool_->device_id_, pool_->spec_.phone_port, who_,
                 [self = shared_from_this()](dialer& d, dialer::outcome o, const std::string& why) {
                   self->dialed(d, o, why);
                 });
  }

  bool taken() const { return taken_; }
  bool spare() const { return relay_ && !taken_; }

  void stop() {
    stopped_ = true;
    timer_.cancel();
    if (dialer_) dialer_->cancel();
    dialer_.reset();
    std::error_code ignored;
    if (socket_.is_open()) socket_.close(ignored);
    if (auto r = std::move(relay_)) r->close();
  }

 private:
  void dialed(dialer& d, dialer::outcome o, const std::string& why) {
    if (stopped_) return d.cancel();
    if (o != dialer::outcome::connected) {
      if (o == dialer::outcome::refused) pool_->counters_->refused++;
      return pool_->line_failed(shared_from_this(), "waiting for the app: " + why);
    }
    dialer_ = d.shared_from_this();  // owns the connection until the relay takes it
    std::error_code ec;
    const asio::ip::tcp::endpoint at(asio::ip::make_address(pool_->spec_.local_address, ec),
                                     pool_->spec_.local_port);
    timer_.expires_after(local_connect_limit);
    timer_.async_wait([self = shared_from_this()](std::error_code e) {
      if (!e && !self->stopped_) {
        std::error_code ignored;
        self->socket_.close(ignored);  // the connect below ends with operation_aborted
        self->timed_out_ = true;
      }
    });
    socket_.async_connect(at, [self = shared_from_this()](std::error_code e) { self->joined(e); });
  }

  void joined(std::error_code ec) {
    timer_.cancel();
    if (stopped_) return;
    const auto& s = pool_->spec_;
    if (ec) {
      pool_->counters_->local_failures++;
      dialer_->cancel();
      dialer_.reset();
      const std::string what =
          timed_out_ ? "no answer in " + std::to_string(local_connect_limit.count()) + " s"
                     : ec.message();
      return pool_->line_failed(
          shared_from_this(), "cannot reach the board's service at " + s.local_address + ":" +
                                  std::to_string(s.local_port) + " (" + what + "): is it running?");
    }
    socket_.set_option(asio::ip::tcp::no_delay(true), ec);
    auto d = std::move(dialer_);
    std::weak_ptr<line> weak = shared_from_this();
    relay_ = std::make_shared<relay>(relay::socket_type(std::move(socket_)), pool_->devices_,
                                     d->device_id(), d->conn(), d->port(), who_, d->phone_closed(),
                                     std::vector<std::byte>{},
                                     [weak](const relay::totals& t, const std::string&) {
                                       if (auto self = weak.lock()) self->ended(t);
                                     });
    relay_->on_first_from_phone([weak] {
      if (auto self = weak.lock()) self->take();
    });
    relay_->start();
    if (relay_) pool_->line_joined();
  }

  void take() {
    if (taken_ || stopped_) return;
    taken_ = true;
    pool_->line_taken();
  }

  void ended(const relay::totals& t) {
    relay_.reset();
    pool_->counters_->bytes_to_phone += t.to_phone;
    pool_->counters_->bytes_from_phone += t.from_phone;
    if (!stopped_) pool_->line_ended(shared_from_this());
  }

  std::shared_ptr<reverse_pool> pool_;  // alive while any of its lines waits for a handler
  asio::ip::tcp::socket socket_;
  base::quiet_timer timer_;
  std::string who_;
  std::shared_ptr<dialer> dialer_;
  std::shared_ptr<relay> relay_;
  bool taken_ = false;
  bool timed_out_ = false;
  bool stopped_ = false;
};

reverse_pool::reverse_pool(asio::io_context& io, device_registry& devices,
                           proto::tetherd::reverse_spec spec, std::uint32_t device_id,
                           std::shared_ptr<reverse_counters> counters, reverse_backoff backoff)
    : io_(io),
      devices_(devices),
      spec_(std::move(spec)),
      device_id_(device_id),
      udid_(devices.udid_of(device_id)),
      counters_(std::move(counters)),
      backoff_(backoff),
      delay_(backoff.first),
      retry_timer_(io) {}

void reverse_pool::start() { refill(); }

void reverse_pool::stop() {
  stopped_ = true;
  retry_timer_.cancel();
  auto lines = std::move(lines_);
  lines_.clear();
  for (const auto& l : lines) l->stop();
}

// Opens lines until `spares` are waiting for the app (or on their way), within the bound.
void reverse_pool::refill() {
  if (stopped_ || waiting_) return;
  std::size_t pending = 0;
  for (const auto& l : lines_) pending += l->taken() ? 0u : 1u;
  while (pending < spec_.spares && lines_.size() < max_reverse_lines) {
    auto l = std::make_shared<line>(shared_from_this());
    lines_.insert(l);
    ++pending;
    l->start();
    if (stopped_ || waiting_) return;  // it failed at once (the phone went)
  }
}

void reverse_pool::line_joined() {
  if (!waiting_why_.empty()) {  // the app or the service is back: said once
    log::info("reverse " + spec_.name + " on " + udid_ + ": lines open again (the app on port " +
              std::to_string(spec_.phone_port) + " and the service both answer)");
    waiting_why_.clear();
  }
}

void reverse_pool::line_taken() {
  counters_->total++;
  delay_ = backoff_.first;
  log::debug("reverse " + spec_.name + " on " + udid_ + ": the app took a line (" +
             std::to_string(in_use()) + " in use)");
  refill();
}

void reverse_pool::line_failed(const std::shared_ptr<line>& l, const std::string& why) {
  lines_.erase(l);
  retry_later(why);
}

void reverse_pool::line_ended(const std::shared_ptr<line>& l) {
  const bool was_spare = !l->taken();
  lines_.erase(l);
  // A spare that ends was closed by the app or the service without being used: opening
  // another at once could loop, so it waits like a failure.
  if (was_spare) return retry_later("a spare line was closed before the app used it");
  refill();
}

void reverse_pool::retry_later(const std::string& why) {
  if (stopped_) return;
  counters_->last_error = why;
  if (why != waiting_why_) {  // one line per new reason, not one per retry
    log::info("reverse " + spec_.name + " on " + udid_ + ": " + why);
    waiting_why_ = why;
  }
  if (waiting_) return;
  waiting_ = true;
  retry_timer_.expires_after(delay_);
  delay_ = std::min(delay_ * 2, backoff_.max);
  retry_timer_.async_wait([weak = weak_from_this()](std::error_code ec) {
    auto self = weak.lock();
    if (ec || !self || self->stopped_) return;
    self->waiting_ = false;
    self->refill();
  });
}

std::size_t reverse_pool::spares_open() const {
  std::size_t n = 0;
  for (const auto& l : lines_) n += l->spare() ? 1u : 0u;
  return n;
}

std::size_t reverse_pool::in_use() const {
  std::size_t n = 0;
  for (const auto& l : lines_) n += l->taken() ? 1u : 0u;
  return n;
}

std::string reverse_pool::state() const {
  const auto spares = spares_open(), used = in_use();
  if (spares == 0 && waiting_) return waiting_why_;
  std::string s = std::to_string(spares) + (spares == 1 ? " spare open" : " spares open");
  if (used) s += ", " + std::to_string(used) + " in use";
  if (lines_.size() >= max_reverse_lines && spares == 0)
    s += " (the most per phone: no spare until one closes)";
  return s;
}

}  // namespace tether::daemon
