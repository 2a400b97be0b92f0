#include "daemon/pairing_service.hpp"

#include <asio/post.hpp>
#include <asio/steady_timer.hpp>

#include <cstring>
#include <thread>

#include "base/log.hpp"
#include "daemon/dialer.hpp"

namespace tether::daemon {

using clock = std::chrono::steady_clock;

// One phone's pairing: its flow, the mux connection to lockdownd while one is open,
// and the flow's timer. It owns the connection in the registry once connected.
class pairing_service::phone : public device_registry::conn_owner,
                               public std::enable_shared_from_this<phone> {
 public:
  phone(pairing_service& s, std::uint32_t device_id, std::string udid)
      : s_(s), device_id_(device_id), udid_(std::move(udid)), timer_(s.io_) {}

  void begin(const pairing::host_identity& host) {
    std::vector<std::byte> record;
    if (auto stored = s_.records_.read(udid_);
        const auto* bytes = std::get_if<std::vector<std::byte>>(&stored))
      record = *bytes;
    flow_ = std::make_unique<pairing::pairing_flow>(udid_, s_.buid_, host, std::move(record),
                                                    s_.settings_.flow);
    dial();
  }

  void stop() {
    timer_.cancel();
    close_conn();
    if (dialer_) dialer_->cancel();
    dialer_.reset();
  }

  std::string describe() const {
    return flow_ ? flow_->describe(clock::now()) : std::string("checking");
  }

  void on_conn_event(const usbmux::event& e) override {
    if (!flow_ || conn_ == 0) return;
    if (const auto* c = std::get_if<usbmux::events::closed>(&e)) {
      s_.devices_.disown(device_id_, conn_);
      if (c->reason != usbmux::close_reason::session_ended)
        if (usbmux::phone_link* l = s_.devices_.find(device_id_))
          (void)l->session().close(conn_, clock::now());
      conn_ = 0;
      outbox_.clear();
      return apply(flow_->closed(clock::now()));
    }
    if (std::holds_alternative<usbmux::events::readable>(e)) return read();
    if (std::holds_alternative<usbmux::events::writable>(e)) return write();
  }

  connection_status status() const override {
    connection_status c;
    c.device_id = device_id_;
    c.phone_port = proto::lockdown::port;
    c.client = "tetherd pairing";
    c.state = describe();
    return c;
  }

 private:
  void dial() {
    auto self = shared_from_this();
    dialer_ = dialer::dial(
        s_.devices_, device_id_, proto::lockdown::port, "tetherd pairing",
        [self](dialer& d, dialer::outcome o, const std::string& why) { self->dialed(d, o, why); });
  }

  void dialed(dialer& d, dialer::outcome o, const std::string& why) {
    if (o != dialer::outcome::connected) {
      dialer_.reset();
      if (o == dialer::outcome::phone_gone || o == dialer::outcome::no_such_phone) return;
      log::warn(udid_ + ": cannot reach lockdownd to pair: " + why);
      return apply(flow_->closed(clock::now()));
    }
    conn_ = d.conn();
    dialer_.reset();
    s_.devices_.own(device_id_, conn_, shared_from_this());
    apply(flow_->connected(clock::now()));
    read();  // what arrived with the connection
  }

  void read() {
    usbmux::phone_link* l = s_.devices_.find(device_id_);
    if (l == nullptr || conn_ == 0) return;
    const auto data = l->session().received(conn_);
    if (data.empty()) return;
    const std::vector<std::byte> copy(data.begin(), data.end());
    l->session().consume(conn_, copy.size(), clock::now());
    l->flush();
    apply(flow_->received(copy, clock::now()));
  }

  void write() {
    usbmux::phone_link* l = s_.devices_.find(device_id_);
    if (l == nullptr || conn_ == 0 || outbox_.empty()) return;
    const auto took = l->session().send(conn_, outbox_);
    if (!took) return;
    outbox_.erase(outbox_.begin(), outbox_.begin() + static_cast<std::ptrdiff_t>(*took));
    l->flush();
  }

  void close_conn() {
    if (conn_ == 0) return;
    s_.devices_.disown(device_id_, conn_);
    if (usbmux::phone_link* l = s_.devices_.find(device_id_)) {
      (void)l->session().close(conn_, clock::now());
      l->flush();
    }
    conn_ = 0;
    outbox_.clear();
  }

  void apply(pairing::flow_step step) {
    for (const auto& line : step.say)
      (line.warning ? log::warn : log::info)(udid_ + ": " + line.text);
    if (!step.save_record.empty()) {
      const auto bytes = std::as_bytes(std::span(step.save_record));
      if (const int e = s_.records_.save(udid_, bytes); e != 0)
        log::warn(udid_ + ": paired, but the pair record cannot be stored in " +
                  s_.records_.dir().string() + ": " + std::strerror(e) +
                  " (lockdown tools will ask to pair again)");
      else
        s_.devices_.paired(device_id_);  // listeners hear Paired, as from usbmuxd
    }
    if (!step.send.empty() && conn_ != 0) {
      outbox_.insert(outbox_.end(), step.send.begin(), step.send.end());
      write();
    }
    if (step.close) close_conn();
    timer_.cancel();
    if (step.reconnect) return dial();
    if (step.wake) {
      timer_.expires_at(*step.wake);
      timer_.async_wait([weak = weak_from_this()](std::error_code ec) {
        auto self = weak.lock();
        if (ec || !self || !self->flow_) return;
        self->apply(self->flow_->tick(clock::now()));
      });
    }
  }

  pairing_service& s_;
  std::uint32_t device_id_;
  std::string udid_;
  std::unique_ptr<pairing::pairing_flow> flow_;
  std::shared_ptr<dialer> dialer_;
  usbmux::conn_id conn_ = 0;
  std::vector<std::byte> outbox_;
  asio::steady_timer timer_;
};

pairing_service::pairing_service(asio::io_context& io, device_registry& devices,
                                 const pair_records& records, std::string system_buid, settings s)
    : io_(io),
      devices_(devices),
      records_(records),
      buid_(std::move(system_buid)),
      settings_(std::move(s)) {
  devices_.add_watcher(this);
}

pairing_service::~pairing_service() {
  {
    std::lock_guard<std::mutex> hold(loader_->lock);
    loader_->service_gone = true;
  }
  if (keys_thread_.joinable()) keys_thread_.join();
  devices_.remove_watcher(this);
  for (auto& [id, p] : phones_) p->stop();
}

void pairing_service::on_attached(const proto::usbmuxd::device& d) {
  if (settings_.automatic) start(d.id);
}

void pairing_service::on_detached(std::uint32_t device_id) {
  if (auto it = phones_.find(device_id); it != phones_.end()) {
    it->second->stop();
    phones_.erase(it);
  }
}

base::result<void> pairing_service::pair(std::uint32_t device_id) {
  if (devices_.find(device_id) == nullptr)
    return {std::make_error_code(std::errc::no_such_device),
            "no phone with DeviceID " + std::to_string(device_id) + " (was it unplugged?)"};
  if (!identity_problem_.empty())
    return {std::make_error_code(std::errc::io_error), identity_problem_};
  on_detached(device_id);  // a fresh start, whatever the last one came to
  start(device_id);
  return {};
}

std::string pairing_service::state_of(std::uint32_t device_id) const {
  if (auto it = phones_.find(device_id); it != phones_.end()) {
    if (!identity_problem_.empty()) return "not paired: " + identity_problem_;
    return it->second->describe();
  }
  return settings_.automatic ? "" : "not asked (automatic pairing is off)";
}

void pairing_service::start(std::uint32_t device_id) {
  auto p = std::make_shared<phone>(*this, device_id, devices_.udid_of(device_id));
  phones_[device_id] = p;
  if (identity_) return p->begin(*identity_);
  if (!identity_problem_.empty() || loading_) return;
  loading_ = true;
  // Made (or read) on a thread: the first keys take seconds on a small board, and the
  // phones already attached must be served meanwhile.
  keys_thread_ =
      std::thread([this, shared = loader_, &io = io_, file = settings_.identity_file]() mutable {
        const auto begun = clock::now();
        auto id = pairing::load_or_create_host_identity(file);
        const double ms = std::chrono::duration<double, std::milli>(clock::now() - begun).count();
        // The io_context outlives the service (main() makes it first), so posting is safe
        // while the service is there; a handler left unrun is destroyed with the context.
        std::lock_guard<std::mutex> hold(shared->lock);
        if (shared->service_gone) return;
        asio::post(io, [this, shared, id = std::move(id), ms, file]() mutable {
          if (shared->service_gone) return;  // the same thread as the destructor: no lock
          if (id)
            log::info("host keys for pairing ready in " + std::to_string(static_cast<int>(ms)) +
                      " ms (" + file.string() + ")");
          identity_loaded(std::move(id));
        });
      });
}

void pairing_service::identity_loaded(base::result<pairing::host_identity> id) {
  loading_ = false;
  if (!id) {
    identity_problem_ = "no host keys for pairing: " + id.describe();
    log::error(identity_problem_);
    return;
  }
  identity_ = std::move(*id);
  for (auto& [device_id, p] : phones_) p->begin(*identity_);
}

}  // namespace tether::daemon
