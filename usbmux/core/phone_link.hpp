#pragma once
// What the daemon needs from one phone, whatever carries its packets: the facts it
// reports to clients, the host session it opens connections on, and a way to push
// what the session has due onto the wire. usb::device_link implements it over libusb;
// usbmux/testing's memory_phone over an in-memory device session, so the daemon's
// logic runs in a unit test without USB.
#include <cstdint>
#include <string>

#include "usbmux/core/event.hpp"
#include "usbmux/core/host_session.hpp"
#include "usbmux/core/link_errc.hpp"

namespace tether::usbmux {

struct phone_facts {
  std::string udid;
  std::uint16_t product_id = 0;
  std::uint8_t bus = 0;
  std::uint8_t address = 0;
  std::uint32_t location = 0;      // (bus << 16) | address, as usbmuxd reports it
  std::uint64_t speed_bps = 0;     // ConnectionSpeed
  std::uint8_t configuration = 0;  // the USB configuration that carries usbmux
};

class phone_link {
 public:
  struct listener {
    virtual ~listener() = default;
    // The VERSION handshake completed: the phone is usable.
    virtual void on_ready(phone_link& link) = 0;
    // An event from the session (connected, readable, writable, closed, ...).
    virtual void on_event(phone_link& link, const event& e) = 0;
    // The link is down for good: `why` is a link_errc (unplugged, transfer_failed, ...),
    // `detail` the sentence for the log, quoting the values, or empty when why.message()
    // says it all (base::describe joins the two). Always called from a posted handler,
    // never from inside the transport, so the owner may destroy the link right here.
    virtual void on_gone(phone_link& link, std::error_code why, const std::string& detail) = 0;
  };

  virtual ~phone_link() = default;
  virtual const phone_facts& facts() const = 0;
  virtual host_session& session() = 0;
  // After calling session() mutators (connect, send, consume, close): push what is due
  // onto the wire and re-arm the session timer. Events it causes arrive later, posted.
  virtual void flush() = 0;
  // Starts teardown; on_gone follows with this code and detail, unless the link was
  // already going down for another reason (the first one wins).
  virtual void shut_down(std::error_code why, const std::string& detail = {}) = 0;
};

}  // namespace tether::usbmux
