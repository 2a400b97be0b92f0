#include "daemon/forward.hpp"

#include <asio/generic/stream_protocol.hpp>

#include "base/log.hpp"
#include "daemon/dialer.hpp"
#include "daemon/errc.hpp"
#include "daemon/relay.hpp"

namespace tether::daemon {

namespace {
// A client sent bytes and the app has not answered for this long: worth a line, as an
// app in the background accepts and then says nothing (PROTOCOL.md §1.1). Only said:
// a protocol may well wait longer for its answer, and the connection stays.
constexpr std::chrono::seconds app_answer_limit{5};
}  // namespace

// One accepted local connection: finds the phone, dials it (again and again while the
// app is not listening), then hands the socket to a relay.
class forward::client : public std::enable_shared_from_this<client> {
 public:
  client(forward& owner, asio::ip::tcp::socket s)
      : owner_(owner), socket_(std::move(s)), timer_(owner.io_), delay_(owner.retry_.first) {
    std::error_code ec;
    const auto peer = socket_.remote_endpoint(ec);
    who_ = "forward " + owner.status_.spec.name + " from " +
           (ec ? std::string("?") : peer.address().to_string() + ":" + std::to_string(peer.port()));
    give_up_at_ = std::chrono::steady_clock::now() + owner.retry_.give_up;
  }

  void try_connect() {
    if (stopped_) return;
    std::string why;
    const std::uint32_t device = pick_device(why);
    if (device == 0) return retry_later(why);
    dialer_ = dialer::dial(
        owner_.devices_, device, owner_.status_.spec.phone_port, who_,
        [self = shared_from_this()](dialer& d, dialer::outcome o, const std::string& reason) {
          self->on_dialed(d, o, reason);
        });
  }

  // The forward is going away: drop the client and whatever it holds on the phone.
  void stop() {
    stopped_ = true;
    timer_.cancel();
    if (dialer_) dialer_->cancel();
    dialer_.reset();
    std::error_code ignored;
    if (socket_.is_open()) socket_.close(ignored);
    if (relay_) relay_->close();
  }

 private:
  std::uint32_t pick_device(std::string& why) const {
    const auto& udid = owner_.status_.spec.udid;
    if (!udid.empty()) {
      const std::uint32_t id = owner_.devices_.find_udid(udid);
      if (id == 0) why = "phone " + udid + " is not attached";
      return id;
    }
    const auto phones = owner_.devices_.devices();
    if (phones.empty()) {
      why = "no phone attached";
      return 0;
    }
    if (phones.size() > 1) {
      why = "several phones attached (";
      for (std::size_t i = 0; i < phones.size(); ++i) why += (i ? ", " : "") + phones[i].udid;
      why += "): give the forward a UDID";
      return 0;
    }
    return phones.front().id;
  }

  void on_dialed(dialer& d, dialer::outcome o, const std::string& reason) {
    auto held = std::move(dialer_);  // keeps `d` alive through this call
    if (stopped_) return d.cancel();
    if (o != dialer::outcome::connected) return retry_later(reason);
    owner_.status_.clients_active++;
    owner_.set_state("connected");
    log::info(who_ + ": connected to port " + std::to_string(d.port()) + " on " +
              owner_.devices_.udid_of(d.device_id()));
    auto self = shared_from_this();
    relay_ = std::make_shared<relay>(relay::socket_type(std::move(socket_)), owner_.devices_,
                                     d.device_id(), d.conn(), d.port(), who_, d.phone_closed(),
                                     std::vector<std::byte>{},
                                     [self](const relay::totals& t, const std::string&) {
                                       auto& f = self->owner_;
                                       f.status_.clients_active--;
                                       f.status_.bytes_to_phone += t.to_phone;
                                       f.status_.bytes_from_phone += t.from_phone;
                                       if (f.status_.clients_active == 0) f.set_state("listening");
                                       self->relay_.reset();
                                       f.clients_.erase(self);
                                     });
    std::weak_ptr<client> weak = self;
    relay_->watch_answers(owner_.io_, app_answer_limit, [weak, port = d.port()](bool silent) {
      if (auto c = weak.lock()) c->owner_.app_silent(c->who_, port, silent);
    });
    relay_->start();
  }

  void retry_later(const std::string& why) {
    owner_.status_.connect_failures++;
    const auto now = std::chrono::steady_clock::now();
    if (now + delay_ > give_up_at_) {
      log::warn(
          who_ + ": gave up after " +
          std::to_string(
              std::chrono::duration_cast<std::chrono::seconds>(owner_.retry_.give_up).count()) +
          " s: " + why);
      owner_.set_state("listening", why);
      stop();
      owner_.clients_.erase(shared_from_this());
      return;
    }
    owner_.set_state("waiting: " + why + "; retrying", why);
    log::debug(who_ + ": " + why + "; retrying in " + std::to_string(delay_.count()) + " ms");
    timer_.expires_after(delay_);
    delay_ = std::min(delay_ * 2, owner_.retry_.max);
    timer_.async_wait([self = shared_from_this()](std::error_code ec) {
      if (!ec) self->try_connect();
    });
  }

  forward& owner_;
  asio::ip::tcp::socket socket_;
  base::quiet_timer timer_;
  std::chrono::milliseconds delay_;
  std::chrono::steady_clock::time_point give_up_at_;
  std::string who_;
  std::shared_ptr<dialer> dialer_;
  std::shared_ptr<relay> relay_;
  bool stopped_ = false;
};

forward::forward(asio::io_context& io, device_registry& devices, proto::tetherd::forward_spec spec,
                 retry_policy retry)
    : io_(io), devices_(devices), retry_(retry), acceptor_(io) {
  status_.spec = std::move(spec);
}

base::result<void> forward::open() {
  std::error_code ec;
  const auto address = asio::ip::make_address(status_.spec.bind_address, ec);
  if (ec) {
    return {daemon_errc::bad_address, "'" + status_.spec.bind_address + "' is not an IP address"};
  }
  const asio::ip::tcp::endpoint at(address, status_.spec.local_port);
  acceptor_.open(at.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(at, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return {ec,
            "cannot listen on " + status_.spec.bind_address + ":" +
                std::to_string(status_.spec.local_port) + ": " + ec.message() +
                (ec == asio::error::address_in_use ? " (another forward or program has it)" : "")};
  }
  status_.bound_port = acceptor_.local_endpoint().port();
  status_.state = "listening";
  return {};
}

void forward::start() { accept(); }

void forward::accept() {
  acceptor_.async_accept([self = shared_from_this()](std::error_code ec, asio::ip::tcp::socket s) {
    if (self->stopped_) return;
    if (ec) {
      // Out of descriptors and the like: log it and keep the listener going.
      log::warn("forward " + self->status_.spec.name + ": accept failed: " + ec.message());
      auto t = std::make_shared<base::quiet_timer>(self->io_);
      t->expires_after(std::chrono::milliseconds(100));
      t->async_wait([self, t](std::error_code) { self->accept(); });
      return;
    }
    s.set_option(asio::ip::tcp::no_delay(true), ec);
    self->status_.clients_total++;
    auto c = std::make_shared<client>(*self, std::move(s));
    self->clients_.insert(c);
    c->try_connect();
    self->accept();
  });
}

void forward::stop() {
  stopped_ = true;
  std::error_code ignored;
  acceptor_.close(ignored);
  auto clients = std::move(clients_);
  for (const auto& c : clients) c->stop();
}

void forward::set_state(const std::string& state, const std::string& error) {
  status_.state = state;
  if (!error.empty()) status_.last_error = error;
}

void forward::app_silent(const std::string& who, std::uint16_t port, bool silent) {
  const std::string key = "port " + std::to_string(port);
  if (!silent) {  // it answers: the next silence is news again
    silences_.forget(key);
    return;
  }
  const auto line = silences_.note(
      key,
      "the app on port " + std::to_string(port) + " accepted but has not answered for " +
          std::to_string(app_answer_limit.count()) + " s: it may be in the background",
      std::chrono::steady_clock::now());
  if (line) log::info(who + ": " + *line);
}

proto::tetherd::forward_status forward::status() const { return status_; }

}  // namespace tether::daemon
