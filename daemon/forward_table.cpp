#include "daemon/forward_table.hpp"

#include "daemon/errc.hpp"

namespace tether::daemon {
base::result<proto::tetherd::forward_status> forward_table::add(proto::tetherd::forward_spec spec,
                                                                origin from) {
  if (forwards_.size() >= max_forwards) {
    return {daemon_errc::limit_reached,
            "tetherd runs at most " + std::to_string(max_forwards) +
                " forwards: remove one first (tether forward remove NAME)"};
  }
  if (spec.phone_port == 0) {
    return {daemon_errc::bad_value, "the phone port is missing"};
  }
  if (!proto::tetherd::plausible_udid(spec.udid)) {
    return {daemon_errc::bad_value, "'" + spec.udid + "' is not a UDID (hex digits and hyphens)"};
  }
  std::error_code ec;
  const auto address = asio::ip::make_address(spec.bind_address, ec);
  if (ec) {
    return {daemon_errc::bad_address, "'" + spec.bind_address + "' is not an IP address"};
  }
  if (!address.is_loopback() && !allow_remote_) {
    return {daemon_errc::remote_refused,
            "forwards listen on loopback only (" + spec.bind_address +
                " would open the phone's port to the network); set allow-remote-forwards = yes "
                "in tetherd.conf to allow it"};
  }
  if (!spec.name.empty() && forwards_.count(spec.name)) {
    return {daemon_errc::in_use, "a forward named '" + spec.name + "' exists already"};
  }
  auto f = std::make_shared<forward>(io_, devices_, spec, retry_);
  if (auto opened = f->open(); !opened) return {opened.error(), opened.detail()};
  if (spec.name.empty()) {
    // Unnamed forwards are called by their local port (the one the kernel chose for 0).
    std::string name = std::to_string(f->status().bound_port);
    for (int n = 2; forwards_.count(name); ++n)
      name = std::to_string(f->status().bound_port) + "-" + std::to_string(n);
    f->rename(name);
  }
  f->start();
  forwards_[f->spec().name] = entry{f, from};
  if (from == origin::client) client_changed();
  return f->status();
}

bool forward_table::remove(const std::string& name) {
  auto it = forwards_.find(name);
  if (it == forwards_.end()) return false;
  it->second.f->stop();
  const origin from = it->second.from;
  forwards_.erase(it);
  if (from == origin::client) client_changed();
  return true;
}

std::vector<proto::tetherd::forward_status> forward_table::list() const {
  std::vector<proto::tetherd::forward_status> out;
  for (const auto& [name, e] : forwards_) out.push_back(e.f->status());
  return out;
}

void forward_table::stop_all() {
  for (auto& [name, e] : forwards_) e.f->stop();
  forwards_.clear();
}

void forward_table::client_changed() const {
  if (on_client_change_) on_client_change_();
}

std::vector<proto::tetherd::forward_spec> forward_table::client_specs() const {
  std::vector<proto::tetherd::forward_spec> specs;
  for (const auto& [name, e] : forwards_) {
    if (e.from != origin::client) continue;
    auto spec = e.f->spec();
    spec.local_port = e.f->status().bound_port;  // a port the kernel chose stays the same
    specs.push_back(std::move(spec));
  }
  return specs;
}

}  // namespace tether::daemon
