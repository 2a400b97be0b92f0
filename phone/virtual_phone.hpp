#pragma once
// One virtual iPhone's USB function, as the usbdevfs layer sees it: control requests
// (descriptors, configuration), bulk OUT into the mux engine and bulk IN out of it,
// with the apps behind the ports. No umockdev, no threads: the adapter calls in.
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "phone/app_lifecycle.hpp"
#include "phone/bulk_out_reads.hpp"
#include "phone/iphone_model.hpp"
#include "phone/lockdown_responder.hpp"
#include "phone/phone_apps.hpp"
#include "phone/phone_modes.hpp"
#include "phone/usb_function.hpp"
#include "usbmux/core/device_session.hpp"

namespace tether::sim {

// What the phone's mux made of the host's bulk OUT reads (see bulk_out_reads.hpp).
struct read_stats {
  std::uint64_t packets = 0;  // reads that were exactly one mux packet
  // Of those, the ones a multiple of wMaxPacketSize long: they got through only by a ZLP.
  std::uint64_t packets_on_boundary = 0;
  std::uint64_t largest_packet = 0;
  std::uint64_t too_large = 0;          // reads over 65535 bytes: CONTROL error sent, dropped
  std::uint64_t mismatched = 0;         // reads that were not one whole packet: dropped
  std::uint64_t window_violations = 0;  // connections reset: the host overran our window
};

struct usb_request_stats {
  std::uint64_t get_mode = 0;            // vendor 0xC0/0x45 (usbmuxd's GET_MODE)
  std::uint64_t set_mode = 0;            // vendor 0xC0/0x52 (SET_MODE): tetherd never sends it
  std::uint64_t stalled = 0;             // control requests the phone stalled (BOS, unknown)
  std::uint64_t reads_while_locked = 0;  // bulk OUT reads a locked phone let fall
  std::uint64_t stale_sent = 0;          // old-session packets sent to a new host
  std::uint64_t control_texts_sent = 0;  // CONTROL type 7 on session open and close
  std::uint64_t versions_sent = 0;       // VERSIONs the phone sent in a live session
};

class virtual_phone : public usb_function {
 public:
  virtual_phone(iphone_identity id, usbmux::device_options opts);

  const iphone_identity& identity() const { return id_; }
  std::uint8_t configuration() const override { return configuration_; }

  std::string sysfs_description() const override { return tether::sim::sysfs_description(id_); }
  std::string sysfs_path() const override { return tether::sim::sysfs_path(id_); }
  std::string dev_node() const override { return tether::sim::dev_node(id_); }
  std::uint8_t initial_configuration() const override { return id_.initial_configuration; }
  std::uint8_t configuration_count() const override { return tether::sim::configuration_count; }
  std::uint8_t interface_count() const override;
  bool in_endpoint(std::uint8_t endpoint) const override {
    return endpoint == usbmux_in_endpoint && has_usbmux(configuration_);
  }

  void add_app(std::uint16_t port, std::unique_ptr<phone_app> app);
  // Gives apps with their own I/O a way back in (see app_host).
  void set_app_host(app_host* host);
  // Lets apps react to what the session reported; call after touching the session.
  void run_apps();

  // A control transfer. IN requests return the data (cut to setup.length); OUT
  // requests return an empty vector. nullopt means the phone stalls the request.
  std::optional<std::vector<std::uint8_t>> control(const setup_packet& setup,
                                                   std::span<const std::uint8_t> out_data) override;

  // What SET_CONFIGURATION does; also reachable through control(). Entering a
  // configuration restarts the mux function, as on a real phone.
  bool set_configuration(std::uint8_t value) override;

  // A bulk OUT transfer to `endpoint`. False if the endpoint is not active. The phone's
  // controller turns transfers into reads (bulk_out_reads) and its mux takes one
  // packet per read, so a host that leaves a full-packet transfer unterminated
  // (`zero_packet` false, no zero-length transfer after it) loses packets.
  bool bulk_out(std::uint8_t endpoint, std::span<const std::byte> data, bool zero_packet) override;

  // One completed read of the usbmux OUT endpoint, as a real USB device controller
  // delivered it (a gadget's FunctionFS read): the controller already ended it at a
  // short packet or a ZLP, so it goes to the mux as is, without bulk_out's emulation.
  void controller_read(std::span<const std::byte> read) {
    if (session_) take_read(read);
  }

  // Fills one bulk IN transfer from `endpoint`: returns the length, or nullopt when
  // nothing is due yet (the transfer stays pending). A transfer never holds bytes of
  // two mux packets; a packet ending exactly on a full transfer whose size is a
  // multiple of wMaxPacketSize is followed by a zero-length transfer.
  std::optional<std::size_t> bulk_in(std::uint8_t endpoint, std::span<std::byte> buffer) override;
  bool in_data_due() const override;

  usbmux::device_session* session() { return session_.get(); }
  // What the phone's lockdownd knows across connections and replugs: its key, the
  // hosts it trusts, the Trust dialog, the passcode lock. Shared with the lockdownd app.
  phone_trust& trust() { return *trust_; }
  std::shared_ptr<phone_trust> shared_trust() const { return trust_; }

  // Faults. A muted phone never answers VERSION (the host should time out, not hang).
  void set_version_muted(bool muted) { version_muted_ = muted; }
  // The next bulk IN transfer carries these bytes instead of a real packet.
  void inject_in_bytes(std::vector<std::byte> bytes) { injected_ = std::move(bytes); }
  // A TCP packet whose length field (3) is shorter than any header.
  void inject_garbage() {
    inject_in_bytes({std::byte{0}, std::byte{0}, std::byte{0}, std::byte{6}, std::byte{0},
                     std::byte{0}, std::byte{0}, std::byte{3}});
  }
  // A stale packet: 5 bytes of data on a connection the host does not have (phone port
  // `port` to host port `host_port`), as a phone sends for a session it still thinks
  // open. A host answers it with an RST (the session counts it in packets_ignored).
  void inject_stale_packet(std::uint16_t port, std::uint16_t host_port);
  // Every app drops its connections at once (RST each), as when the apps are killed.
  void reset_connections();
  const read_stats& reads() const { return read_stats_; }
  // reads() and what the session saw, as one line of NAME=VALUE pairs.
  std::string stats_text() const;
  void clear_read_stats() { read_stats_ = {}; }

  // The app on `port` goes to the background, comes back, or is killed (see
  // app_lifecycle.hpp): suspended, SYNs still get SYN|ACK but the app neither reads nor
  // writes any connection; resumed, it serves them all again, those accepted meanwhile
  // too; killed, its connections get RST and SYNs are refused until it is resumed
  // (launched again). False when no app listens on `port`. Survives replugs.
  bool set_app_state(std::uint16_t port, app_state s);
  app_state app_state_of(std::uint16_t port) const;
  // --- What real phones do (issue 15); implemented in virtual_phone_quirks.cpp -------
  // Locked: the mux takes no reads and sends nothing until unlocked; VERSION goes
  // unanswered. Hidden is the bus adapter's business (it unplugs); here it is locked.
  void set_lock(lock_mode m) { lock_ = m; }
  lock_mode lock() const { return lock_; }
  // CONTROL type 7 texts on every session opened and closed, as some phones send.
  void set_control_texts(bool on) { control_texts_ = on; }
  // What the phone sends of its old session when a new host's VERSION arrives.
  void set_stale_order(stale_order o) { stale_order_ = o; }
  const usb_request_stats& usb_requests() const { return usb_stats_; }
  // The phone sends VERSION inside its live session (what a real phone does then is
  // unknown): its mux starts over, and the old session's packets (set_stale_order) go
  // before or after the VERSION.
  void send_version();
  // A new bus address, for the phone's next enumeration (the bus adapter unplugs and
  // plugs it): what a phone that re-enumerates gets from the host's kernel.
  void set_bus_address(std::uint8_t address) { id_.address = address; }

 private:
  // Vendor requests (docs/usbmux-wire.md 0.3): nullopt stalls, as for anything unknown.
  std::optional<std::vector<std::uint8_t>> vendor_request(const setup_packet& s);
  std::optional<std::vector<std::uint8_t>> stall_request() {
    ++usb_stats_.stalled;
    return std::nullopt;
  }
  // A new host's VERSION while a session is live: the mux restarts, and the old
  // session's connections may first (or after) send what they had in flight.
  void restart_for_new_host();
  std::vector<std::vector<std::byte>> old_session_packets();
  void control_text(const std::string& text);
  void session_text(const usbmux::event& e);
  lock_mode lock_ = lock_mode::unlocked;
  bool control_texts_ = false;
  stale_order stale_order_ = stale_order::none;
  std::deque<std::vector<std::byte>> after_version_;  // stale packets held for the reply
  usb_request_stats usb_stats_;

  iphone_identity id_;
  usbmux::device_options opts_;
  std::shared_ptr<phone_trust> trust_ = std::make_shared<phone_trust>();
  std::uint8_t configuration_;
  std::unique_ptr<usbmux::device_session> session_;
  std::map<std::uint16_t, std::unique_ptr<phone_app>> apps_;
  std::map<usbmux::conn_id, phone_app*> conn_apps_;

  std::vector<std::byte> out_packet_;  // the packet being sent on bulk IN
  std::size_t out_offset_ = 0;
  bool zlp_owed_ = false;
  bool version_muted_ = false;
  std::vector<std::byte> injected_;
  // CONTROL and stale packets, sent between the session's packets.
  std::deque<std::vector<std::byte>> own_packets_;
  bulk_out_reads reads_;
  read_stats read_stats_;
  // The apps' lifecycles: ports absent here are running.
  std::map<std::uint16_t, app_state> app_states_;
  // Connections the kernel accepted while their app was suspended, oldest first: the
  // app accepts them when it resumes.
  std::vector<std::pair<usbmux::conn_id, std::uint16_t>> backlog_;
  bool app_suspended_on(usbmux::conn_id id) const;
  void take_read(std::span<const std::byte> read);
  void queue_own_packet(std::uint32_t protocol, std::span<const std::byte> body);
};

}  // namespace tether::sim
