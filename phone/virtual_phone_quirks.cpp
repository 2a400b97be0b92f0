// What real iPhones do beyond the plain mux, seen in logs from real phones (see
// ../shared/research/real-phone.md §2 and docs/real-phone-behaviours.md): vendor
// requests, CONTROL type 7 texts, and the old session's packets after a host restart.
// Locking is a gate in take_read()/bulk_in() (virtual_phone.cpp).
#include <cstdio>
#include <string>

#include "phone/virtual_phone.hpp"

namespace tether::sim {
namespace {

constexpr std::uint8_t vendor_in = 0xc0, vendor_out = 0x40;
constexpr std::uint8_t get_mode = 0x45, set_mode = 0x52, power_request = 0x40;

// A fake kernel address for the session, stable per connection (the phone's texts
// name its AppleUSBDeviceMux session by pointer).
unsigned session_address(usbmux::conn_id id) {
  return 0xb0280000u + static_cast<unsigned>(id % 0x10000) * 0x40u;
}

}  // namespace

std::optional<std::vector<std::uint8_t>> virtual_phone::vendor_request(const setup_packet& s) {
  auto cut = [&s](std::vector<std::uint8_t> v) {
    if (v.size() > s.length) v.resize(s.length);
    return v;
  };
  if (s.request_type == vendor_in && s.request == get_mode) {
    // iOS 16/17's 4-byte answer, mode 0 with the carrier off (linux-usb msg259527;
    // usbmuxd#267 logs "3:3:3:0").
    ++usb_stats_.get_mode;
    return cut({0x03, 0x03, 0x03, 0x00});
  }
  if (s.request_type == vendor_in && s.request == set_mode) {
    // wIndex is the mode; the phone answers 0x00, or 0x04 for mode 1 (Apple Wiki). It
    // is counted and nothing else: a host that switches modes is what we look for.
    ++usb_stats_.set_mode;
    return cut({static_cast<std::uint8_t>(s.index == 1 ? 0x04 : 0x00)});
  }
  if (s.request_type == vendor_out && s.request == power_request)
    return std::vector<std::uint8_t>{};
  return stall_request();
}

void virtual_phone::control_text(const std::string& text) {
  if (!control_texts_ || !session_ || !session_->ready()) return;
  std::vector<std::byte> body{std::byte{7}};  // CONTROL type 7: information
  for (const char c : text) body.push_back(static_cast<std::byte>(c));
  queue_own_packet(1, body);
  ++usb_stats_.control_texts_sent;
}

// The texts of libimobiledevice#1354's log, with this phone's ports: the app's port on
// the phone, the phone-side loopback port, the host's port over USB.
void virtual_phone::session_text(const usbmux::event& e) {
  if (!control_texts_) return;
  char text[160];
  if (const auto* a = std::get_if<usbmux::events::accepted>(&e)) {
    std::snprintf(text, sizeof text,
                  "AppleUSBDeviceMux::handleConnectResult new session 0x%08x established "
                  "%u<-lo0->%u %u<-usb->%u",
                  session_address(a->id), a->port, 49152u + static_cast<unsigned>(a->id % 16000),
                  a->port, a->peer_port);
  } else if (const auto* c = std::get_if<usbmux::events::closed>(&e)) {
    std::snprintf(text, sizeof text,
                  "AppleUSBDeviceMux::sessionUpcall socket is closed, session 0x%08x",
                  session_address(c->id));
  } else {
    return;
  }
  control_text(text);
}

// What the old session's connections had in flight: one segment each, in the old
// session's (v2) header, continuing each connection's sequence.
std::vector<std::vector<std::byte>> virtual_phone::old_session_packets() {
  std::vector<std::vector<std::byte>> stale;
  if (stale_order_ != stale_order::none && session_) {
    const usbmux::header_format f = session_->format();
    for (const auto& [id, app] : conn_apps_) {
      const auto info = session_->info(id);
      if (!info) continue;
      usbmux::tcp_header th;
      th.source_port = info->local_port;
      th.dest_port = info->remote_port;
      th.seq = static_cast<std::uint32_t>(info->bytes_sent + 1);
      th.ack = static_cast<std::uint32_t>(info->bytes_received + 1);
      th.flags = usbmux::tcp_flag::ack;
      th.window_wire = usbmux::window_to_wire(opts_.receive_window);
      const std::string data = "stale";
      std::vector<std::byte> packet(usbmux::header_size(f) + usbmux::tcp_header_size + data.size());
      usbmux::mux_header h;
      h.proto = usbmux::protocol::tcp;
      h.length = static_cast<std::uint32_t>(packet.size());
      usbmux::encode(h, f, packet);
      auto tcp = std::span(packet).subspan(usbmux::header_size(f));
      usbmux::encode(th, tcp.first<usbmux::tcp_header_size>());
      for (std::size_t i = 0; i < data.size(); ++i)
        tcp[usbmux::tcp_header_size + i] = static_cast<std::byte>(data[i]);
      stale.push_back(std::move(packet));
    }
  }
  return stale;
}

void virtual_phone::restart_for_new_host() {
  auto stale = old_session_packets();
  set_configuration(configuration_);  // the mux starts over; the apps see their ends
  usb_stats_.stale_sent += stale.size();
  for (auto& p : stale)
    (stale_order_ == stale_order::before ? own_packets_ : after_version_).push_back(std::move(p));
}

void virtual_phone::send_version() {
  if (!session_ || !session_->ready()) return;
  auto stale = old_session_packets();
  set_configuration(configuration_);  // its mux starts over, as for a new host
  usb_stats_.stale_sent += stale.size();
  // VERSION 2.0 in a v1 header, as a host offers it: a model, since what a phone that
  // sends one means is not known.
  const std::byte version[12] = {std::byte{0}, std::byte{0}, std::byte{0}, std::byte{2}};
  // set_configuration() emptied own_packets_, which go out in order.
  if (stale_order_ == stale_order::before)
    for (auto& p : stale) own_packets_.push_back(std::move(p));
  queue_own_packet(0, version);
  if (stale_order_ == stale_order::after)
    for (auto& p : stale) own_packets_.push_back(std::move(p));
  ++usb_stats_.versions_sent;
}

}  // namespace tether::sim
