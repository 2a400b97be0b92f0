#include "phone/virtual_phone.hpp"

#include <algorithm>
#include <cstring>
#include <string>

namespace tether::sim {

virtual_phone::virtual_phone(iphone_identity id, usbmux::device_options opts)
    : id_(std::move(id)),
      opts_(std::move(opts)),
      configuration_(id_.initial_configuration),
      reads_(bulk_packet_size(id_.speed), phone_read_size) {
  set_configuration(configuration_);
}

void virtual_phone::add_app(std::uint16_t port, std::unique_ptr<phone_app> app) {
  apps_[port] = std::move(app);
  if (session_) session_->listen(port);
}

void virtual_phone::set_app_host(app_host* host) {
  for (auto& [port, app] : apps_) app->set_host(host);
}

std::uint8_t virtual_phone::interface_count() const {
  const auto cfg = configuration_descriptor(id_, configuration_);
  return cfg.size() > 4 ? cfg[4] : 0;
}

bool virtual_phone::set_configuration(std::uint8_t value) {
  if (value > tether::sim::configuration_count) return false;
  configuration_ = value;
  session_.reset();
  for (auto& [id, app] : conn_apps_) app->on_closed(id);  // the old mux is gone
  conn_apps_.clear();
  backlog_.clear();
  out_packet_.clear();
  out_offset_ = 0;
  zlp_owed_ = false;
  own_packets_.clear();
  reads_.reset();
  after_version_.clear();
  if (has_usbmux(value)) {
    session_ = std::make_unique<usbmux::device_session>(opts_);
    for (const auto& [port, app] : apps_) session_->listen(port);
    session_->set_accept_gate([this](std::uint16_t port) {
      auto it = apps_.find(port);
      if (it == apps_.end()) return true;
      switch (app_state_of(port)) {
        case app_state::killed: return false;    // nothing listens: RST
        case app_state::suspended: return true;  // the kernel's backlog takes it
        case app_state::running: break;
      }
      return it->second->ready_to_accept();
    });
  }
  return true;
}

std::optional<std::vector<std::uint8_t>> virtual_phone::control(const setup_packet& s,
                                                                std::span<const std::uint8_t>) {
  auto cut = [&s](std::vector<std::uint8_t> v) {
    if (v.size() > s.length) v.resize(s.length);
    return v;
  };
  constexpr std::uint8_t get_status = 0, get_descriptor = 6, get_configuration = 8,
                         set_configuration_req = 9;
  if (s.request_type == 0x80 && s.request == get_descriptor) {
    const std::uint8_t type = static_cast<std::uint8_t>(s.value >> 8);
    const std::uint8_t index = static_cast<std::uint8_t>(s.value);
    std::vector<std::uint8_t> d;
    if (type == 1) d = device_descriptor(id_);
    if (type == 2) d = configuration_descriptor(id_, static_cast<std::uint8_t>(index + 1));
    if (type == 3) d = string_descriptor(id_, index);
    if (d.empty()) return stall_request();  // BOS (0x0f) and the rest, as a real phone
    return cut(std::move(d));
  }
  if (s.request_type == 0x80 && s.request == get_configuration) return cut({configuration_});
  if (s.request_type == 0x80 && s.request == get_status) return cut({0x01, 0x00});
  if (s.request_type == 0x00 && s.request == set_configuration_req) {
    if (!set_configuration(static_cast<std::uint8_t>(s.value))) return std::nullopt;
    return std::vector<std::uint8_t>{};
  }
  if ((s.request_type & 0x60) == 0x40) return vendor_request(s);
  return stall_request();
}

bool virtual_phone::bulk_out(std::uint8_t endpoint, std::span<const std::byte> data,
                             bool zero_packet) {
  if (!session_ || endpoint != usbmux_out_endpoint) return false;
  for (const auto& read : reads_.transfer(data, zero_packet)) {
    if (!session_) break;  // no mux function left to take the rest
    take_read(read);
  }
  return true;
}

void virtual_phone::take_read(std::span<const std::byte> data) {
  if (lock_ != lock_mode::unlocked) {  // a locked phone's mux lets everything fall
    if (!data.empty()) ++usb_stats_.reads_while_locked;
    return;
  }
  const mux_read_verdict verdict = judge_mux_read(data);
  switch (verdict.what) {
    case mux_read_verdict::kind::empty: return;
    case mux_read_verdict::kind::mismatch: ++read_stats_.mismatched; return;
    case mux_read_verdict::kind::too_large: {
      ++read_stats_.too_large;
      std::vector<std::byte> body{std::byte{3}};  // CONTROL type 3: error
      for (const char c : verdict.control_text) body.push_back(static_cast<std::byte>(c));
      queue_own_packet(1, body);
      return;
    }
    case mux_read_verdict::kind::packet: break;
  }
  ++read_stats_.packets;
  if (data.size() % bulk_packet_size(id_.speed) == 0) ++read_stats_.packets_on_boundary;
  read_stats_.largest_packet = std::max<std::uint64_t>(read_stats_.largest_packet, data.size());
  // A host that starts over (a restarted usbmuxd, a new tetherd) sends VERSION to a
  // phone that is already talking mux; a real phone answers it afresh, so its mux
  // function restarts and every old connection is gone.
  const bool is_version = data.size() >= 4 && data[0] == std::byte{0} && data[1] == std::byte{0} &&
                          data[2] == std::byte{0} && data[3] == std::byte{0};
  if (is_version && version_muted_) return;  // taken off the wire, never answered
  if (is_version && session_->ready()) restart_for_new_host();
  if (session_->receive(data)) return;  // failure stays in the session
  run_apps();
}

void virtual_phone::queue_own_packet(std::uint32_t protocol, std::span<const std::byte> body) {
  if (!session_) return;
  const usbmux::header_format f = session_->format();
  const std::size_t head = usbmux::header_size(f);
  std::vector<std::byte> packet(head + body.size());
  usbmux::mux_header h;
  h.proto = static_cast<usbmux::protocol>(protocol);
  h.length = static_cast<std::uint32_t>(packet.size());
  usbmux::encode(h, f, packet);
  std::copy(body.begin(), body.end(), packet.begin() + static_cast<std::ptrdiff_t>(head));
  own_packets_.push_back(std::move(packet));
}

void virtual_phone::inject_stale_packet(std::uint16_t port, std::uint16_t host_port) {
  if (!session_ || !session_->ready()) return;
  usbmux::tcp_header th;
  th.source_port = port;
  th.dest_port = host_port;
  th.seq = 1;
  th.ack = 1;
  th.flags = usbmux::tcp_flag::ack;
  th.window_wire = usbmux::window_to_wire(opts_.receive_window);
  std::vector<std::byte> body(usbmux::tcp_header_size);
  usbmux::encode(th, std::span<std::byte, usbmux::tcp_header_size>(body.data(), body.size()));
  for (const char c : std::string("stale")) body.push_back(static_cast<std::byte>(c));
  queue_own_packet(static_cast<std::uint32_t>(usbmux::protocol::tcp), body);
}

app_state virtual_phone::app_state_of(std::uint16_t port) const {
  const auto it = app_states_.find(port);
  return it == app_states_.end() ? app_state::running : it->second;
}

bool virtual_phone::app_suspended_on(usbmux::conn_id id) const {
  const auto info = session_ ? session_->info(id) : std::nullopt;
  return info && app_state_of(info->local_port) == app_state::suspended;
}

bool virtual_phone::set_app_state(std::uint16_t port, app_state s) {
  const auto app = apps_.find(port);
  if (app == apps_.end()) return false;
  const app_state was = app_state_of(port);
  if (s == app_state::running)
    app_states_.erase(port);
  else
    app_states_[port] = s;
  if (was != s && (was == app_state::suspended || s == app_state::suspended))
    app->second->on_suspended(s == app_state::suspended);
  if (!session_) return true;
  // This port's connections, oldest first; those still in the backlog are marked.
  std::vector<usbmux::conn_id> ids;
  for (const auto& [id, a] : conn_apps_)
    if (const auto info = session_->info(id); info && info->local_port == port) ids.push_back(id);
  auto in_backlog = [this](usbmux::conn_id id) {
    return std::any_of(backlog_.begin(), backlog_.end(),
                       [id](const auto& b) { return b.first == id; });
  };
  if (s == app_state::killed) {
    for (const auto id : ids) {
      if (!in_backlog(id)) app->second->on_closed(id);
      conn_apps_.erase(id);
      (void)session_->abort(id);  // RST mid-stream
    }
    std::erase_if(backlog_, [port](const auto& b) { return b.second == port; });
  } else if (s == app_state::running && was == app_state::suspended) {
    // Back in the foreground: accept what waited in the backlog, then serve everything.
    for (const auto& [id, p] : std::vector(backlog_)) {
      if (p != port) continue;
      if (app->second->ready_to_accept()) {
        app->second->on_accept(*session_, id);
      } else {
        conn_apps_.erase(id);
        (void)session_->abort(id);
      }
    }
    std::erase_if(backlog_, [port](const auto& b) { return b.second == port; });
    for (const auto id : ids)
      if (conn_apps_.count(id) != 0) app->second->on_ready(*session_, id);
  }
  run_apps();
  return true;
}

void virtual_phone::reset_connections() {
  if (!session_) return;
  std::vector<usbmux::conn_id> ids;
  for (const auto& [id, app] : conn_apps_) ids.push_back(id);
  for (const auto id : ids) {
    conn_apps_[id]->on_closed(id);
    conn_apps_.erase(id);
    (void)session_->abort(id);
  }
  backlog_.clear();
}

std::string virtual_phone::stats_text() const {
  const read_stats& r = read_stats_;
  std::string out = "packets=" + std::to_string(r.packets) +
                    " packets_on_boundary=" + std::to_string(r.packets_on_boundary) +
                    " largest_packet=" + std::to_string(r.largest_packet) +
                    " too_large=" + std::to_string(r.too_large) +
                    " mismatched=" + std::to_string(r.mismatched) +
                    " window_violations=" + std::to_string(r.window_violations);
  if (session_) {
    const usbmux::session_stats& st = session_->stats();
    out += " anonymous_resets_sent=" + std::to_string(st.anonymous_resets_sent) +
           " packets_ignored=" + std::to_string(st.packets_ignored) +
           " connections=" + std::to_string(session_->connection_count());
  }
  const usb_request_stats& u = usb_stats_;
  out += " get_mode=" + std::to_string(u.get_mode) + " set_mode=" + std::to_string(u.set_mode) +
         " stalled_requests=" + std::to_string(u.stalled) +
         " reads_while_locked=" + std::to_string(u.reads_while_locked) +
         " stale_sent=" + std::to_string(u.stale_sent) +
         " control_texts_sent=" + std::to_string(u.control_texts_sent) +
         " versions_sent=" + std::to_string(u.versions_sent) +
         " locked=" + std::to_string(lock_ == lock_mode::unlocked ? 0 : 1);
  return out;
}

void virtual_phone::run_apps() {
  while (auto e = session_->poll_event()) {
    if (auto* a = std::get_if<usbmux::events::accepted>(&*e)) {
      auto it = apps_.find(a->port);
      if (it == apps_.end()) continue;
      conn_apps_[a->id] = it->second.get();
      session_text(*e);
      if (app_state_of(a->port) == app_state::suspended) {
        backlog_.emplace_back(a->id, a->port);  // SYN|ACK went out; the app accepts later
        continue;
      }
      it->second->on_accept(*session_, a->id);
    } else if (auto* r = std::get_if<usbmux::events::readable>(&*e)) {
      if (auto it = conn_apps_.find(r->id); it != conn_apps_.end() && !app_suspended_on(r->id))
        it->second->on_ready(*session_, r->id);
    } else if (auto* w = std::get_if<usbmux::events::writable>(&*e)) {
      if (auto it = conn_apps_.find(w->id); it != conn_apps_.end() && !app_suspended_on(w->id))
        it->second->on_ready(*session_, w->id);
    } else if (auto* c = std::get_if<usbmux::events::closed>(&*e)) {
      if (c->reason == usbmux::close_reason::window_violation) ++read_stats_.window_violations;
      session_text(*e);
      const auto before = backlog_.size();
      std::erase_if(backlog_, [id = c->id](const auto& b) { return b.first == id; });
      if (auto it = conn_apps_.find(c->id); it != conn_apps_.end()) {
        // Never accepted (still in the backlog): the app does not know it.
        if (backlog_.size() == before) it->second->on_ended(*session_, c->id);
        conn_apps_.erase(it);
      }
      (void)session_->close(c->id, {});
    }
  }
}

bool virtual_phone::in_data_due() const {
  return session_ && lock_ == lock_mode::unlocked &&
         (!injected_.empty() || zlp_owed_ || out_offset_ < out_packet_.size() ||
          !own_packets_.empty() || session_->want_write());
}

std::optional<std::size_t> virtual_phone::bulk_in(std::uint8_t endpoint,
                                                  std::span<std::byte> buffer) {
  if (!session_ || endpoint != usbmux_in_endpoint || lock_ != lock_mode::unlocked)
    return std::nullopt;
  if (!injected_.empty()) {
    const std::size_t n = std::min(buffer.size(), injected_.size());
    std::memcpy(buffer.data(), injected_.data(), n);
    injected_.clear();
    return n;
  }
  if (zlp_owed_) {
    zlp_owed_ = false;
    return 0;
  }
  if (out_offset_ == out_packet_.size() && !own_packets_.empty()) {
    out_packet_ = std::move(own_packets_.front());  // between two of the session's packets
    own_packets_.pop_front();
    out_offset_ = 0;
  } else if (out_offset_ == out_packet_.size()) {
    run_apps();
    out_packet_.resize(std::max<std::size_t>(opts_.max_packet_size, usbmux::min_packet_buffer));
    const std::size_t n = session_->pull_packet(out_packet_);
    out_packet_.resize(n);
    out_offset_ = 0;
    run_apps();  // pulling may have freed send space
    if (n == 0) return std::nullopt;
    // The VERSION reply is out: the old session's packets held for after it follow.
    while (!after_version_.empty()) {
      own_packets_.push_back(std::move(after_version_.front()));
      after_version_.pop_front();
    }
  }
  const std::size_t n = std::min(buffer.size(), out_packet_.size() - out_offset_);
  std::memcpy(buffer.data(), out_packet_.data() + out_offset_, n);
  out_offset_ += n;
  const std::uint16_t mps = bulk_packet_size(id_.speed);
  if (out_offset_ == out_packet_.size() && n == buffer.size() && n % mps == 0) zlp_owed_ = true;
  return n;
}

}  // namespace tether::sim
