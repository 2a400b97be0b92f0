// A deliberately minimal usbmux host on libusb, for one question: what does the virtual
// phone do with full-size packets with and without their zero-length packet? It runs
// under tether-sim (the phone's unmodified libusb path), opens the phone, shakes hands
// with tether's host engine and round-trips 1 MB through the echo app on port 2345 in
// full 49152-byte packets.
//
//   zlp_host with-zlp      OUT transfers that are a multiple of wMaxPacketSize carry
//                          LIBUSB_TRANSFER_ADD_ZERO_PACKET (what tether and usbmuxd do):
//                          exits 0 when the megabyte comes back intact.
//   zlp_host without-zlp   the same transfers without it, as a broken host sends them:
//                          exits 0 when the phone visibly refuses them (a CONTROL
//                          error "message was too large") and the echo does not complete.
//
// This is a test program, not a product path: nothing in tether can omit the ZLP.
#include <libusb.h>
#include <sys/time.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "phone/iphone_model.hpp"
#include "usbmux/core/host_session.hpp"

namespace {

using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

struct out_done {
  bool finished = false;
  libusb_transfer_status status = LIBUSB_TRANSFER_COMPLETED;
};

void LIBUSB_CALL on_out(libusb_transfer* t) {
  auto* d = static_cast<out_done*>(t->user_data);
  d->finished = true;
  d->status = t->status;
}

// One OUT transfer, waited for; `zlp` asks libusb for the terminating ZLP.
bool send_out(libusb_context* ctx, libusb_device_handle* h, std::span<std::byte> data, bool zlp) {
  libusb_transfer* t = libusb_alloc_transfer(0);
  out_done d;
  libusb_fill_bulk_transfer(t, h, tether::sim::usbmux_out_endpoint,
                            reinterpret_cast<unsigned char*>(data.data()),
                            static_cast<int>(data.size()), on_out, &d, 5000);
  t->flags = zlp ? LIBUSB_TRANSFER_ADD_ZERO_PACKET : 0;
  if (libusb_submit_transfer(t) != 0) {
    libusb_free_transfer(t);
    return false;
  }
  while (!d.finished) libusb_handle_events_completed(ctx, nullptr);
  libusb_free_transfer(t);
  return d.status == LIBUSB_TRANSFER_COMPLETED;
}

// The IN side as tether's transport does it: one transfer always pending, resubmitted
// from its callback, so no read is ever cancelled half-done. (A short synchronous read
// that times out cancels its URB, and bytes the phone wrote into it then can be lost:
// under TSan's slowness that broke the stream.)
struct in_reader {
  std::vector<std::byte> buffer = std::vector<std::byte>(16384);
  std::vector<std::byte> arrived;  // taken by the main loop
  bool failed = false;
  bool stopped = false;
  libusb_transfer* t = nullptr;
};

void LIBUSB_CALL on_in(libusb_transfer* t) {
  auto* r = static_cast<in_reader*>(t->user_data);
  if (t->status == LIBUSB_TRANSFER_COMPLETED) {
    r->arrived.insert(r->arrived.end(), r->buffer.begin(), r->buffer.begin() + t->actual_length);
    if (libusb_submit_transfer(t) == 0) return;
  } else if (t->status == LIBUSB_TRANSFER_CANCELLED) {
    r->stopped = true;
    return;
  }
  r->failed = true;
  r->stopped = true;
}

int fail(const char* what) {
  std::fprintf(stderr, "zlp_host: %s\n", what);
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode != "with-zlp" && mode != "without-zlp")
    return fail("usage: zlp_host with-zlp|without-zlp (under tether-sim)");
  const bool zlp = mode == "with-zlp";

  libusb_context* ctx = nullptr;
  if (libusb_init(&ctx) != 0) return fail("libusb_init failed");
  libusb_device_handle* h = nullptr;
  // tether-sim plugs the phone in before it starts us; give hotplug a bounded moment.
  for (int i = 0; i < 100 && h == nullptr; ++i) {
    h = libusb_open_device_with_vid_pid(ctx, 0x05ac, tether::sim::iphone_identity{}.product_id);
    if (h == nullptr) libusb_handle_events_timeout_completed(ctx, nullptr, nullptr);
  }
  if (h == nullptr) return fail("no virtual iPhone found");
  if (libusb_set_configuration(h, 4) != 0) return fail("cannot select configuration 4");
  if (libusb_claim_interface(h, tether::sim::usbmux_interface_number) != 0)
    return fail("cannot claim the usbmux interface");

  tether::usbmux::host_session host;
  std::vector<std::byte> out(49152);
  in_reader reader;
  reader.t = libusb_alloc_transfer(0);
  libusb_fill_bulk_transfer(reader.t, h, tether::sim::usbmux_in_endpoint,
                            reinterpret_cast<unsigned char*>(reader.buffer.data()),
                            static_cast<int>(reader.buffer.size()), on_in, &reader, 0);
  if (libusb_submit_transfer(reader.t) != 0) return fail("cannot submit the IN transfer");
  std::vector<std::byte> data(1'000'000);
  std::mt19937 rng(7);
  for (auto& b : data) b = static_cast<std::byte>(rng());
  std::vector<std::byte> echoed;
  std::vector<std::string> errors;
  std::optional<tether::usbmux::conn_id> id;
  bool connected = false;
  std::size_t sent = 0, full_transfers = 0;
  host.start(clock_type::now());
  const auto deadline = clock_type::now() + 5s;
  // Without ZLPs, the first refusal settles it: what the phone dropped never comes back.
  while (clock_type::now() < deadline && echoed.size() < data.size() && (zlp || errors.empty())) {
    while (std::size_t n = host.pull_packet(out)) {
      if (n % 512 == 0) ++full_transfers;
      if (!send_out(ctx, h, std::span(out).first(n), zlp)) return fail("an OUT transfer failed");
    }
    if (reader.arrived.empty()) {
      timeval tv{0, 5000};
      libusb_handle_events_timeout_completed(ctx, &tv, nullptr);
    }
    if (reader.failed) return fail("an IN transfer failed");
    if (!reader.arrived.empty()) {
      const auto bytes = std::exchange(reader.arrived, {});
      if (host.receive(bytes)) {
        std::fprintf(stderr, "zlp_host: the host session failed: %s\n",
                     host.failure_text().c_str());
        return 1;
      }
    }
    while (auto e = host.poll_event()) {
      if (auto* c = std::get_if<tether::usbmux::events::control_message>(&*e))
        errors.push_back(std::to_string(c->type) + " " + c->text);
      if (id && std::holds_alternative<tether::usbmux::events::connected>(*e)) connected = true;
    }
    if (host.ready() && !id) id = *host.connect(2345, clock_type::now());
    if (!connected) continue;
    if (sent < data.size()) sent += *host.send(*id, std::span(data).subspan(sent));
    const auto r = host.received(*id);
    echoed.insert(echoed.end(), r.begin(), r.end());
    host.consume(*id, r.size());
  }
  if (clock_type::now() >= deadline) std::printf("zlp_host: gave up after 5 s\n");
  const bool intact = echoed == data;
  bool refused = false;
  for (const auto& e : errors) {
    std::printf("zlp_host: CONTROL %s\n", e.c_str());
    refused |= e.rfind("3 asyncReadComplete, message was too large", 0) == 0;
  }
  std::printf("zlp_host: %s: %zu full-packet transfers sent, %zu of %zu bytes echoed%s\n",
              mode.c_str(), full_transfers, echoed.size(), data.size(), intact ? " intact" : "");
  libusb_cancel_transfer(reader.t);
  for (int i = 0; i < 100 && !reader.stopped; ++i) {
    timeval tv{0, 10000};
    libusb_handle_events_timeout_completed(ctx, &tv, nullptr);
  }
  if (reader.stopped) libusb_free_transfer(reader.t);  // else libusb_exit reports it
  libusb_release_interface(h, tether::sim::usbmux_interface_number);
  libusb_close(h);
  libusb_exit(ctx);
  if (full_transfers == 0) return fail("no full-packet transfer was sent: the test proves nothing");
  if (zlp) return intact ? 0 : fail("with ZLPs the echo should be intact");
  if (intact)
    return fail("without ZLPs the phone took glued packets: the sim does not model reads");
  return refused ? 0 : fail("without ZLPs the phone sent no CONTROL error");
}
