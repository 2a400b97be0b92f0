#include "daemon/reverse_table.hpp"

#include <asio/ip/address.hpp>

#include "base/log.hpp"
#include "daemon/errc.hpp"

namespace tether::daemon {

reverse_table::reverse_table(asio::io_context& io, device_registry& devices,
                             reverse_backoff backoff)
    : io_(io), devices_(devices), backoff_(backoff) {
  devices_.add_watcher(this);
}

reverse_table::~reverse_table() {
  stop_all();
  devices_.remove_watcher(this);
}

base::result<proto::tetherd::reverse_status> reverse_table::add(proto::tetherd::reverse_spec spec,
                                                                origin from) {
  using proto::tetherd::max_reverse_spares;
  if (reverses_.size() >= max_reverses)
    return {daemon_errc::limit_reached,
            "tetherd runs at most " + std::to_string(max_reverses) +
                " reverses: remove one first (tether reverse remove NAME)"};
  if (spec.phone_port == 0) return {daemon_errc::bad_value, "the phone port is missing"};
  if (spec.local_port == 0)
    return {daemon_errc::bad_value, "the local port (the board's service) is missing"};
  if (spec.spares < 1 || spec.spares > max_reverse_spares)
    return {daemon_errc::bad_value, "spares must be 1 to " + std::to_string(max_reverse_spares) +
                                        ", not " + std::to_string(spec.spares)};
  if (!proto::tetherd::plausible_udid(spec.udid))
    return {daemon_errc::bad_value, "'" + spec.udid + "' is not a UDID (hex digits and hyphens)"};
  std::error_code ec;
  (void)asio::ip::make_address(spec.local_address, ec);
  if (ec) return {daemon_errc::bad_address, "'" + spec.local_address + "' is not an IP address"};
  if (spec.name.empty()) spec.name = "r" + std::to_string(spec.phone_port);
  if (!proto::tetherd::plain_name(spec.name))
    return {daemon_errc::bad_value, "'" + spec.name + "' is not a name (letters, digits, - _ . :)"};
  if (reverses_.count(spec.name))
    return {daemon_errc::in_use, "a reverse named '" + spec.name +
                                     "' exists already: remove it first, or choose --name"};
  auto& e = reverses_[spec.name];
  e.spec = std::move(spec);
  e.from = from;
  log::info("reverse " + e.spec.name + ": phone port " + std::to_string(e.spec.phone_port) +
            " -> " + e.spec.local_address + ":" + std::to_string(e.spec.local_port) + ", " +
            std::to_string(e.spec.spares) + " spares on " +
            (e.spec.udid.empty() ? "every phone" : e.spec.udid));
  for (const auto& d : devices_.devices())
    if (e.spec.udid.empty() || e.spec.udid == d.udid) open_pool(e, d.id);
  if (from == origin::client) client_changed();
  return status(e);
}

bool reverse_table::remove(const std::string& name) {
  auto it = reverses_.find(name);
  if (it == reverses_.end()) return false;
  for (auto& [id, pool] : it->second.pools) pool->stop();
  const origin from = it->second.from;
  reverses_.erase(it);
  log::info("reverse " + name + " removed");
  if (from == origin::client) client_changed();
  return true;
}

std::vector<proto::tetherd::reverse_status> reverse_table::list() const {
  std::vector<proto::tetherd::reverse_status> out;
  for (const auto& [name, e] : reverses_) out.push_back(status(e));
  return out;
}

void reverse_table::stop_all() {
  for (auto& [name, e] : reverses_)
    for (auto& [id, pool] : e.pools) pool->stop();
  reverses_.clear();
}

void reverse_table::on_attached(const proto::usbmuxd::device& d) {
  for (auto& [name, e] : reverses_)
    if (e.spec.udid.empty() || e.spec.udid == d.udid) open_pool(e, d.id);
}

void reverse_table::on_detached(std::uint32_t device_id) {
  for (auto& [name, e] : reverses_) {
    if (auto it = e.pools.find(device_id); it != e.pools.end()) {
      it->second->stop();
      e.pools.erase(it);
    }
  }
}

void reverse_table::open_pool(entry& e, std::uint32_t device_id) {
  if (e.pools.count(device_id)) return;
  auto pool =
      std::make_shared<reverse_pool>(io_, devices_, e.spec, device_id, e.counters, backoff_);
  e.pools[device_id] = pool;
  pool->start();
}

proto::tetherd::reverse_status reverse_table::status(const entry& e) const {
  proto::tetherd::reverse_status s;
  s.spec = e.spec;
  s.phones = e.pools.size();
  for (const auto& [id, pool] : e.pools) {
    s.spares_open += pool->spares_open();
    s.in_use += pool->in_use();
  }
  if (e.pools.empty()) {
    s.state = e.spec.udid.empty() ? "waiting for a phone" : "waiting for phone " + e.spec.udid;
  } else if (e.pools.size() == 1) {
    s.state = e.pools.begin()->second->state();
  } else {
    s.state = std::to_string(s.spares_open) + " spares open, " + std::to_string(s.in_use) +
              " in use on " + std::to_string(e.pools.size()) + " phones";
  }
  const auto& c = *e.counters;
  s.total = c.total;
  s.refused = c.refused;
  s.local_failures = c.local_failures;
  s.bytes_to_phone = c.bytes_to_phone;
  s.bytes_from_phone = c.bytes_from_phone;
  s.last_error = c.last_error;
  return s;
}

void reverse_table::client_changed() const {
  if (on_client_change_) on_client_change_();
}

std::vector<proto::tetherd::reverse_spec> reverse_table::client_specs() const {
  std::vector<proto::tetherd::reverse_spec> specs;
  for (const auto& [name, e] : reverses_)
    if (e.from == origin::client) specs.push_back(e.spec);
  return specs;
}

}  // namespace tether::daemon
