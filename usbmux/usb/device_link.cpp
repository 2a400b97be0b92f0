#include "usbmux/usb/device_link.hpp"

#include <chrono>
#include <cstdio>

#include "usbmux/usb/usb_error.hpp"

namespace tether::usb {
namespace {

using usbmux::link_errc;

std::uint64_t speed_bps(int speed) {
  switch (speed) {
    case LIBUSB_SPEED_LOW: return 1'500'000;
    case LIBUSB_SPEED_FULL: return 12'000'000;
    case LIBUSB_SPEED_HIGH: return 480'000'000;
    case LIBUSB_SPEED_SUPER: return 5'000'000'000;
    case LIBUSB_SPEED_SUPER_PLUS: return 10'000'000'000;
    default: return 480'000'000;
  }
}

// libusb's parsed configuration as the plain view device_table understands.
struct config_copy {
  std::vector<std::vector<endpoint_view>> endpoints;
  std::vector<interface_view> interfaces;
  configuration_view view() const { return {value, interfaces}; }
  std::uint8_t value = 0;
};

config_copy copy_config(const libusb_config_descriptor* c) {
  config_copy out;
  out.value = c->bConfigurationValue;
  for (int i = 0; i < c->bNumInterfaces; ++i) {
    const libusb_interface& itf = c->interface[i];
    for (int a = 0; a < itf.num_altsetting; ++a) {
      const libusb_interface_descriptor& d = itf.altsetting[a];
      auto& eps = out.endpoints.emplace_back();
      for (int e = 0; e < d.bNumEndpoints; ++e)
        eps.push_back({d.endpoint[e].bEndpointAddress, d.endpoint[e].bmAttributes,
                       d.endpoint[e].wMaxPacketSize});
    }
  }
  std::size_t k = 0;
  for (int i = 0; i < c->bNumInterfaces; ++i) {
    const libusb_interface& itf = c->interface[i];
    for (int a = 0; a < itf.num_altsetting; ++a) {
      const libusb_interface_descriptor& d = itf.altsetting[a];
      out.interfaces.push_back({d.bInterfaceNumber, d.bAlternateSetting, d.bInterfaceClass,
                                d.bInterfaceSubClass, d.bInterfaceProtocol, out.endpoints[k++]});
    }
  }
  return out;
}

}  // namespace

device_link::device_link(event_loop& loop, libusb_device* device, link_options opts, listener& l)
    : loop_(loop),
      device_(libusb_ref_device(device)),
      opts_(std::move(opts)),
      listener_(l),
      session_(opts_.session),
      timer_(loop.io()) {}

device_link::~device_link() {
  timer_.cancel();
  // Only transfers that libusb has handed back may be freed.
  for (auto* t : in_) libusb_free_transfer(t);
  for (auto* t : out_all_) libusb_free_transfer(t);
  if (handle_ != nullptr) {
    if (claimed_) libusb_release_interface(handle_, facts_.mux.interface);
    libusb_close(handle_);
  }
  libusb_unref_device(device_);
}

base::result<void> device_link::open() {
  libusb_device_descriptor dd{};
  libusb_get_device_descriptor(device_, &dd);
  facts_.product_id = dd.idProduct;
  facts_.bus = libusb_get_bus_number(device_);
  facts_.address = libusb_get_device_address(device_);
  facts_.location = (std::uint32_t{facts_.bus} << 16) | facts_.address;
  facts_.speed_bps = speed_bps(libusb_get_device_speed(device_));

  if (int r = libusb_open(device_, &handle_); r != 0) {
    handle_ = nullptr;
    return {libusb_error(r), "cannot open the device"};
  }
  std::vector<config_copy> configs;
  for (std::uint8_t i = 0; i < dd.bNumConfigurations; ++i) {
    libusb_config_descriptor* c = nullptr;
    if (libusb_get_config_descriptor(device_, i, &c) == 0) {
      configs.push_back(copy_config(c));
      libusb_free_config_descriptor(c);
    }
  }
  std::vector<configuration_view> views;
  for (const auto& c : configs) views.push_back(c.view());
  int current = 0;
  if (int r = libusb_get_configuration(handle_, &current); r != 0) {
    return {libusb_error(r), "cannot read the active configuration"};
  }
  facts_.previous_configuration = static_cast<std::uint8_t>(current);
  if (!choose_configuration(views, facts_.previous_configuration, facts_.mux)) {
    return {libusb_error(LIBUSB_ERROR_NOT_SUPPORTED),
            "no configuration carries the usbmux interface (255/254/2)"};
  }
  facts_.configuration = facts_.mux.configuration;
  if (facts_.mux.configuration != current) {
    // Kernel drivers (ipheth, PTP) on the old configuration must let go first.
    for (const auto& c : configs)
      if (c.value == current)
        for (const auto& itf : c.interfaces)
          if (libusb_kernel_driver_active(handle_, itf.number) == 1)
            libusb_detach_kernel_driver(handle_, itf.number);
    if (int r = libusb_set_configuration(handle_, facts_.mux.configuration); r != 0) {
      return {libusb_error(r),
              "cannot set configuration " + std::to_string(facts_.mux.configuration)};
    }
  }
  if (libusb_kernel_driver_active(handle_, facts_.mux.interface) == 1)
    libusb_detach_kernel_driver(handle_, facts_.mux.interface);
  if (int r = libusb_claim_interface(handle_, facts_.mux.interface); r != 0) {
    return {libusb_error(r),
            "cannot claim the usbmux interface " + std::to_string(facts_.mux.interface)};
  }
  claimed_ = true;

  unsigned char serial[256] = {};
  const int n =
      libusb_get_string_descriptor_ascii(handle_, dd.iSerialNumber, serial, sizeof serial - 1);
  if (n < 0) {
    return {libusb_error(n), "cannot read the serial number"};
  }
  facts_.udid.assign(reinterpret_cast<const char*>(serial), static_cast<std::size_t>(n));
  // New-style serials. Not insert(8, "-"): GCC 12 warns (-Wrestrict) on it once inlined.
  if (facts_.udid.size() == 24)
    facts_.udid = facts_.udid.substr(0, 8) + "-" + facts_.udid.substr(8);

  buffers_.resize(static_cast<std::size_t>(opts_.in_transfers + opts_.out_transfers));
  std::size_t b = 0;
  for (int i = 0; i < opts_.in_transfers; ++i) {
    libusb_transfer* t = libusb_alloc_transfer(0);
    // Not zero-filled: an idle phone's buffers then cost address space, not memory.
    buffers_[b] = std::make_unique_for_overwrite<std::uint8_t[]>(opts_.in_transfer_size);
    libusb_fill_bulk_transfer(t, handle_, facts_.mux.in_endpoint, buffers_[b++].get(),
                              static_cast<int>(opts_.in_transfer_size), &device_link::in_done, this,
                              0);
    in_.push_back(t);
  }
  for (int i = 0; i < opts_.out_transfers; ++i) {
    libusb_transfer* t = libusb_alloc_transfer(0);
    buffers_[b] = std::make_unique_for_overwrite<std::uint8_t[]>(packet_room());
    libusb_fill_bulk_transfer(t, handle_, facts_.mux.out_endpoint, buffers_[b++].get(), 0,
                              &device_link::out_done, this, 0);
    out_all_.push_back(t);
    out_free_.push_back(t);
  }
  session_.start(std::chrono::steady_clock::now());
  for (auto* t : in_) {
    if (!submit_in(t)) {
      fail(link_errc::transfer_failed, "cannot start reading from the phone");
      return {};
    }
  }
  flush();
  return {};
}

int device_link::submit(libusb_transfer* t) {
  submitted_at_clear_[t] = clear_count_[(t->endpoint & LIBUSB_ENDPOINT_IN) != 0];
  return libusb_submit_transfer(t);
}

bool device_link::submit_in(libusb_transfer* t) {
  if (submit(t) != 0) return false;
  ++in_flight_;
  return true;
}

void LIBUSB_CALL device_link::in_done(libusb_transfer* t) {
  static_cast<device_link*>(t->user_data)->on_in(t);
}
void LIBUSB_CALL device_link::out_done(libusb_transfer* t) {
  static_cast<device_link*>(t->user_data)->on_out(t);
}

template <class F>
void device_link::post(F&& f) {
  asio::post(loop_.io(), [alive = std::weak_ptr<int>(alive_), f = std::forward<F>(f)]() mutable {
    if (!alive.expired()) f();
  });
}

void device_link::on_in(libusb_transfer* t) {
  --in_flight_;
  if (stopping_) return schedule_finish_check();
  if (t->status == LIBUSB_TRANSFER_STALL) return recover_stall(t, true);
  if (t->status == LIBUSB_TRANSFER_NO_DEVICE) return fail(link_errc::unplugged);
  if (t->status != LIBUSB_TRANSFER_COMPLETED)
    return fail(link_errc::transfer_failed,
                std::string("USB read failed: ") + libusb_error_name(t->status));
  clears_[1] = 0;
  if (t->actual_length > 0) {
    const auto bytes =
        std::as_bytes(std::span(t->buffer, static_cast<std::size_t>(t->actual_length)));
    if (auto ec = session_.receive(bytes)) {
      drain_events();
      return fail(link_errc::protocol_error, "mux protocol error: " + session_.failure_text());
    }
  }
  if (int r = submit(t); r != 0) {
    if (r == LIBUSB_ERROR_NO_DEVICE) return fail(link_errc::unplugged);
    return fail(link_errc::transfer_failed,
                std::string("cannot resubmit a USB read: ") + libusb_error_name(r));
  }
  ++in_flight_;
  drain_events();
  flush();
}

void device_link::on_out(libusb_transfer* t) {
  --in_flight_;
  if (stopping_) {
    out_free_.push_back(t);
    return schedule_finish_check();
  }
  if (t->status == LIBUSB_TRANSFER_STALL) return recover_stall(t, false);
  out_free_.push_back(t);
  if (t->status == LIBUSB_TRANSFER_NO_DEVICE) return fail(link_errc::unplugged);
  if (t->status != LIBUSB_TRANSFER_COMPLETED)
    return fail(link_errc::transfer_failed,
                std::string("USB write failed: ") + libusb_error_name(t->status));
  clears_[0] = 0;
  flush();
}

// A stalled endpoint is cleared (a synchronous control request, so not from inside
// the callback) and the same transfer goes again: an OUT packet is not lost.
void device_link::recover_stall(libusb_transfer* t, bool is_in) {
  post([this, t, is_in] {
    if (stopping_) {
      if (!is_in) out_free_.push_back(t);
      return schedule_finish_check();
    }
    char ep[8];
    std::snprintf(ep, sizeof ep, "0x%02x", t->endpoint);
    const std::string which = std::string("bulk ") + (is_in ? "IN" : "OUT") + " endpoint " + ep;
    const bool episode = submitted_at_clear_[t] == clear_count_[is_in];
    ++clears_[is_in];
    auto& stalls = stalls_[is_in];
    if (episode) {
      const auto now = std::chrono::steady_clock::now();
      std::erase_if(stalls, [now](auto at) { return now - at > stall_window; });
      stalls.push_back(now);
    }
    if (stalls.size() > static_cast<std::size_t>(stall_limit) || clears_[is_in] > clears_limit) {
      if (!is_in) out_free_.push_back(t);
      const std::string how =
          stalls.size() > static_cast<std::size_t>(stall_limit)
              ? std::to_string(stalls.size()) + " times in " +
                    std::to_string(stall_window.count()) + " s"
              : std::to_string(clears_[is_in]) + " clears with no transfer through";
      return fail(link_errc::transfer_failed, "the phone keeps stalling its " + which + " (" + how +
                                                  "): clearing the halt does not help");
    }
    if (episode) ++clear_count_[is_in];
    if (int r = libusb_clear_halt(handle_, t->endpoint); r != 0)
      return fail(link_errc::transfer_failed,
                  std::string("cannot clear a stalled endpoint: ") + libusb_error_name(r));
    if (submit(t) != 0) {
      if (!is_in) out_free_.push_back(t);
      return fail(link_errc::transfer_failed, "cannot resume after a stall: the phone is gone");
    }
    ++in_flight_;
    if (episode)
      listener_.on_recovered(*this, "the phone stalled its " + which +
                                        "; the halt was cleared and the transfer sent again");
  });
}

void device_link::flush() {
  if (stopping_) return;
  while (!out_free_.empty()) {
    libusb_transfer* t = out_free_.back();
    const std::size_t n =
        session_.pull_packet(std::as_writable_bytes(std::span(t->buffer, packet_room())));
    if (n == 0) break;
    out_free_.pop_back();
    t->length = static_cast<int>(n);
    // The phone finds the end of a packet by a short USB packet: when the length is
    // a multiple of wMaxPacketSize, a zero-length packet has to follow.
    t->flags = (n % facts_.mux.max_packet == 0) ? LIBUSB_TRANSFER_ADD_ZERO_PACKET : 0;
    if (int r = submit(t); r != 0) {
      out_free_.push_back(t);
      if (r == LIBUSB_ERROR_NO_DEVICE) return fail(link_errc::unplugged);
      return fail(link_errc::transfer_failed,
                  std::string("cannot submit a USB write: ") + libusb_error_name(r));
    }
    ++in_flight_;
  }
  arm_timer();
}

void device_link::drain_events() {
  while (auto e = session_.poll_event()) {
    if (std::holds_alternative<usbmux::events::handshake_done>(*e) && !ready_signalled_) {
      ready_signalled_ = true;
      listener_.on_ready(*this);
      continue;
    }
    listener_.on_event(*this, *e);
    if (stopping_) return;
  }
}

void device_link::arm_timer() {
  const auto deadline = session_.next_deadline();
  if (deadline == armed_for_) return;  // flush() runs often; the deadline rarely moves
  armed_for_ = deadline;
  if (!deadline) {
    timer_.cancel();
    return;
  }
  timer_.expires_at(*deadline);
  timer_.async_wait([this](const std::error_code& ec) {
    if (ec || stopping_) return;
    armed_for_.reset();
    if (auto err = session_.on_timer(std::chrono::steady_clock::now())) {
      drain_events();
      // The handshake's code says it in the words the logs have always used.
      if (err == usbmux::errc::handshake_timeout) return fail(link_errc::handshake_failed);
      return fail(link_errc::protocol_error, err.message());
    }
    drain_events();
    flush();
  });
}

void device_link::fail(link_errc why, const std::string& detail) { shut_down(why, detail); }

void device_link::shut_down(std::error_code why, const std::string& detail) {
  if (stopping_) return;
  stopping_ = true;
  stop_why_ = why;
  stop_detail_ = detail;
  timer_.cancel();
  armed_for_.reset();
  // Cancel what is in flight; each comes back through its callback. A transfer
  // that already completed or failed to submit is not waited for.
  for (auto* t : in_) libusb_cancel_transfer(t);
  for (auto* t : out_all_) libusb_cancel_transfer(t);
  schedule_finish_check();
}

// on_gone comes from a posted handler so that the owner may destroy the link in it.
void device_link::schedule_finish_check() {
  post([this] {
    if (!stopping_ || in_flight_ > 0 || gone_signalled_) return;
    gone_signalled_ = true;
    listener_.on_gone(*this, stop_why_, stop_detail_);  // may destroy *this: nothing after it
  });
}

}  // namespace tether::usb
