// tether-engine-demo: the usbmux engine end to end, with no USB and no sockets.
// A host session (what tetherd runs per phone) talks to a device session (what the
// virtual iPhone runs) over an in-memory cable. It prints the handshake as it
// crosses the wire, opens connections to an echo app and a closed port, and times a
// bulk transfer. Later work replaces the in-memory cable with libusb and umockdev.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "usbmux/core/device_session.hpp"
#include "usbmux/core/host_session.hpp"
#include "usbmux/core/tcp_header.hpp"
#include "usbmux/testing/memory_link.hpp"

using namespace tether::usbmux;
using testing::direction;

namespace {

constexpr std::uint16_t echo_port = 2345;
constexpr std::uint16_t closed_port = 9999;

std::string describe(std::span<const std::byte> p, header_format f) {
  const auto proto = static_cast<protocol>(peek_bounds(p.first<8>()).proto);
  if (proto == protocol::version) f = header_format::v1;
  const mux_header h = *decode_mux_header(p, f);
  char buf[160];
  switch (h.proto) {
    case protocol::version: return "VERSION (8-byte header)";
    case protocol::setup: return "SETUP 0x07";
    case protocol::control: return "CONTROL";
    case protocol::tcp: {
      const tcp_header t = decode_tcp_header(p.subspan(header_size(f)).first<tcp_header_size>());
      const char* flags = t.flags == tcp_flag::syn       ? "SYN"
                          : t.flags == tcp_flag::syn_ack ? "SYN|ACK"
                          : t.flags == tcp_flag::rst     ? "RST"
                                                         : "ACK";
      std::snprintf(buf, sizeof buf, "TCP %-7s %u->%u seq=%u ack=%u win=%u len=%zu", flags,
                    t.source_port, t.dest_port, t.seq, t.ack, t.window_bytes(),
                    p.size() - header_size(f) - tcp_header_size);
      return buf;
    }
  }
  return "unknown";
}

std::string hex(std::span<const std::byte> p, std::size_t max) {
  std::string s;
  char b[4];
  for (std::size_t i = 0; i < p.size() && i < max; ++i) {
    std::snprintf(b, sizeof b, "%02x", std::to_integer<unsigned>(p[i]));
    s += b;
  }
  if (p.size() > max) s += "...";
  return s;
}

// The phone's echo app: whatever arrives goes straight back.
void run_phone_apps(device_session& phone) {
  while (auto e = phone.poll_event()) {
    if (auto* a = std::get_if<events::accepted>(&*e))
      std::printf("  phone  app on port %u accepted a connection from host port %u\n", a->port,
                  a->peer_port);
    if (auto* c = std::get_if<events::closed>(&*e)) (void)phone.close(c->id, {});
    if (auto* r = std::get_if<events::readable>(&*e)) {
      const auto data = phone.received(r->id);
      const auto took = phone.send(r->id, data);
      phone.consume(r->id, *took);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t bulk_mb = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 256;
  host_session host;
  device_options dopt;
  dopt.refused_reason = "port closed";
  device_session phone(dopt);
  phone.listen(echo_port);
  testing::memory_link link(host, phone);
  bool trace = true;
  link.set_tap([&](direction d, std::span<const std::byte> p) {
    if (!trace) return;
    const session& sender = d == direction::to_device ? static_cast<const session&>(host) : phone;
    std::printf("  %s %-58s %s\n", d == direction::to_device ? "host -> phone" : "phone -> host",
                describe(p, sender.format()).c_str(), hex(p, 24).c_str());
  });

  std::puts("1. Handshake");
  host.start({});
  link.pump();
  while (auto e = host.poll_event())
    if (auto* h = std::get_if<events::handshake_done>(&*e))
      std::printf("  host   phone speaks mux version %u.%u: %s headers from now on\n",
                  h->peer_major, h->peer_minor,
                  h->format == header_format::v2 ? "16-byte" : "8-byte");

  std::puts("\n2. Connect to the echo app and to a closed port");
  const conn_id echo = *host.connect(echo_port, {});
  const conn_id refused = *host.connect(closed_port, {});
  link.pump();
  run_phone_apps(phone);
  while (auto e = host.poll_event()) {
    if (auto* c = std::get_if<events::connected>(&*e))
      std::printf("  host   connection %u open\n", c->id);
    if (auto* c = std::get_if<events::closed>(&*e)) {
      std::printf("  host   port %u refused by phone (\"%s\"): is the app running?\n", closed_port,
                  c->detail.c_str());
      (void)host.close(c->id, {});
    }
  }
  (void)refused;

  std::puts("\n3. Round trip through the echo app");
  const std::string msg = "hello, phone";
  (void)host.send(echo, std::as_bytes(std::span(msg.data(), msg.size())));
  link.pump();
  run_phone_apps(phone);
  link.pump();
  const auto back = host.received(echo);
  std::printf("  host   got back \"%.*s\"\n", static_cast<int>(back.size()),
              reinterpret_cast<const char*>(back.data()));
  host.consume(echo, back.size());
  link.pump();

  std::printf("\n4. Bulk transfer: %zu MiB host -> phone app -> host, engine only\n", bulk_mb);
  trace = false;
  const std::vector<std::byte> chunk(64 * 1024, std::byte{0x5a});
  const std::uint64_t total = std::uint64_t{bulk_mb} << 20;
  std::uint64_t sent = 0, echoed = 0;
  const auto start = std::chrono::steady_clock::now();
  while (echoed < total) {
    if (sent < total)
      sent += *host.send(
          echo, std::span(chunk).first(std::min<std::uint64_t>(chunk.size(), total - sent)));
    link.pump();
    run_phone_apps(phone);
    link.pump();
    const auto got = host.received(echo);
    echoed += got.size();
    host.consume(echo, got.size());
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("  %.0f MiB each way in %.3f s: %.0f MB/s of payload per direction\n",
              static_cast<double>(total) / (1 << 20), secs,
              static_cast<double>(total) / secs / 1e6);
  const auto& hs = host.stats();
  std::printf("  host sent %llu packets, received %llu; anonymous resets %llu, dropped %llu\n",
              static_cast<unsigned long long>(hs.packets_sent),
              static_cast<unsigned long long>(hs.packets_received),
              static_cast<unsigned long long>(hs.anonymous_resets_sent),
              static_cast<unsigned long long>(hs.replies_dropped));
  (void)host.close(echo, {});
  trace = true;
  link.pump();
  return link.error() ? 1 : 0;
}
