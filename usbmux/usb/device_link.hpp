#pragma once
// One phone on the USB bus, joined to a usbmux host_session: open, pick and set the
// configuration, claim the usbmux interface, read the UDID, then move packets. IN
// transfers stay in flight and are resubmitted from their callbacks; each mux packet
// is one OUT transfer (with a zero-length packet when its length is a multiple of
// wMaxPacketSize). All of it runs on the event_loop's thread.
//
// Teardown never waits for a transfer that is not in flight: a resubmission that
// fails because the phone is gone is simply not counted. (The reference usbmuxd
// waits for such a transfer forever and hangs after a mid-stream cable pull.)
#include <libusb.h>

#include <asio/post.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/quiet_timer.hpp"
#include "base/result.hpp"
#include "usbmux/core/host_session.hpp"
#include "usbmux/core/phone_link.hpp"
#include "usbmux/usb/device_table.hpp"
#include "usbmux/usb/event_loop.hpp"

namespace tether::usb {

struct link_options {
  int in_transfers = 3;                  // bulk IN transfers kept in flight
  std::size_t in_transfer_size = 65536;  // a whole phone packet fits one transfer
  int out_transfers = 4;                 // bulk OUT transfers in flight at most
  // After a failure that is not an unplug (protocol error, no VERSION answer, USB
  // error), the phone is opened again after this delay, doubling up to the maximum.
  std::chrono::milliseconds retry_first{1000};
  std::chrono::milliseconds retry_max{30000};
  // A phone that answers nothing (locked, or in USB Restricted Mode after an unlock of
  // the screen only) is asked again at most this often: its unlock is noticed within
  // this plus the handshake timeout, and each try costs a claim and a 20-byte VERSION.
  std::chrono::milliseconds retry_silent_max{2000};
  usbmux::session_options session;
};

// What the daemon sees (phone_facts) and what only the USB layer needs.
struct device_facts : usbmux::phone_facts {
  mux_interface mux;
  std::uint8_t previous_configuration = 0;
};

class device_link final : public usbmux::phone_link {
 public:
  struct listener {
    virtual ~listener() = default;
    // The VERSION handshake completed: the phone is usable.
    virtual void on_ready(device_link& link) = 0;
    // An event from the session (connected, readable, writable, closed, ...).
    virtual void on_event(device_link& link, const usbmux::event& e) = 0;
    // The link is down for good (unplug, USB error, protocol failure) and all its
    // transfers have returned. Always called from a posted handler, never from inside
    // libusb, so the owner may destroy the link right here.
    virtual void on_gone(device_link& link, std::error_code why, const std::string& detail) = 0;
    // Something the link recovered from by itself (a stalled endpoint cleared), in
    // words for the log.
    virtual void on_recovered(device_link& /*link*/, const std::string& /*what*/) {}
  };

  device_link(event_loop& loop, libusb_device* device, link_options opts, listener& l);
  ~device_link();
  device_link(const device_link&) = delete;
  device_link& operator=(const device_link&) = delete;

  // Opens and configures the phone and starts the handshake. Synchronous libusb
  // calls: never call it from inside a libusb callback (post it). An error here
  // means nothing is in flight and the link can be destroyed at once; any later
  // failure arrives as on_gone. The detail says which step failed ("cannot claim the
  // usbmux interface 1"); the code is libusb's.
  base::result<void> open();

  // Starts teardown; on_gone follows once every transfer is back.
  void shut_down(std::error_code why, const std::string& detail = {}) override;
  bool shutting_down() const { return stopping_; }

  const device_facts& facts() const override { return facts_; }
  libusb_device* device() const { return device_; }
  usbmux::host_session& session() override { return session_; }

  // After calling session() mutators (connect, send, consume, close): push what is
  // due onto the wire and re-arm the session timer.
  void flush() override;

 private:
  // An OUT transfer's buffer: the session's largest packet, as the session clamped it
  // (never over usbmux::largest_host_packet).
  std::size_t packet_room() const { return session_.options().max_packet_size; }
  struct transfer_slot;

  static void LIBUSB_CALL in_done(libusb_transfer* t);
  static void LIBUSB_CALL out_done(libusb_transfer* t);
  void on_in(libusb_transfer* t);
  void on_out(libusb_transfer* t);
  bool submit_in(libusb_transfer* t);
  void drain_events();
  void arm_timer();
  void fail(usbmux::link_errc why, const std::string& detail = {});
  void schedule_finish_check();
  void recover_stall(libusb_transfer* t, bool is_in);
  // A stall is one episode per endpoint until a transfer there completes again (the
  // transfers in flight all come back stalled at once): said once, counted once. A
  // phone that stalls again and again is failed, not cleared for ever: more than
  // stall_limit episodes within stall_window, or clears_limit clears with no transfer
  // getting through.
  static constexpr int stall_limit = 3;
  static constexpr std::chrono::seconds stall_window{10};
  static constexpr int clears_limit = 16;
  // The transfers in flight come back stalled one after the other, and one of them may
  // be resubmitted and complete before the next comes back: a transfer submitted before
  // the last clear on its endpoint stalled in the same episode. Each transfer carries
  // the endpoint's clear count at its submission.
  std::uint32_t clear_count_[2] = {0, 0};
  std::map<const libusb_transfer*, std::uint32_t> submitted_at_clear_;  // 7 entries at most
  int submit(libusb_transfer* t);                                 // libusb_submit_transfer, stamped
  std::vector<std::chrono::steady_clock::time_point> stalls_[2];  // [0] OUT, [1] IN
  int clears_[2] = {0, 0};  // [0] OUT, [1] IN: clears since the last completed transfer
  template <class F>
  void post(F&& f);

  event_loop& loop_;
  libusb_device* device_;
  libusb_device_handle* handle_ = nullptr;
  link_options opts_;
  listener& listener_;
  device_facts facts_;
  usbmux::host_session session_;
  base::quiet_timer timer_;
  std::optional<std::chrono::steady_clock::time_point> armed_for_;
  bool claimed_ = false;
  bool ready_signalled_ = false;
  bool stopping_ = false;
  bool gone_signalled_ = false;
  std::error_code stop_why_;
  std::string stop_detail_;
  int in_flight_ = 0;  // transfers libusb still owns
  std::vector<libusb_transfer*> in_;
  std::vector<libusb_transfer*> out_free_;
  std::vector<libusb_transfer*> out_all_;
  std::vector<std::unique_ptr<std::uint8_t[]>> buffers_;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);  // posted work checks it
};

}  // namespace tether::usb
