#pragma once
// What the phone's USB device controller makes of the host's bulk OUT transfers, and
// what the phone's mux then makes of each read. No umockdev, no threads.
//
// A device does not see the host's transfers. It posts a read of a large buffer on its
// OUT endpoint; the read completes when a packet shorter than wMaxPacketSize arrives
// (a zero-length packet, ZLP, is the shortest), or when the buffer is full. A host
// transfer whose length is a multiple of wMaxPacketSize ends on a full packet, so
// unless the host terminates it (libusb's LIBUSB_TRANSFER_ADD_ZERO_PACKET, which
// becomes USBDEVFS_URB_ZERO_PACKET, or a separate zero-length transfer as usbmuxd
// sends) the device's read runs on into whatever the host sends next.
//
// The phone's mux takes one mux packet per completed read (usbmux v1.0.0 README:
// "the phone still wants the ZLPs or else it breaks"; netmuxd's comment "the device
// parses one packet per transfer"). See mux_read_verdict for what it does with a read
// that is not exactly one packet, and docs/usbmux-wire.md 1.3-1.4 for the sources.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace tether::sim {

class bulk_out_reads {
 public:
  // `max_packet`: the endpoint's wMaxPacketSize; `read_size`: the device's read buffer.
  bulk_out_reads(std::size_t max_packet, std::size_t read_size);

  // One host transfer as the wire carries it. `zero_packet`: the host asked for a ZLP
  // after it (meaningful only when the length is a multiple of max_packet). Returns
  // the device reads this completed, oldest first; bytes of an unterminated read
  // wait for the next transfer.
  std::vector<std::vector<std::byte>> transfer(std::span<const std::byte> data, bool zero_packet);

  // Bytes received in a read that has not completed yet.
  std::size_t pending() const { return read_.size(); }
  // The endpoint is reset (configuration change, port reset): a partial read is lost.
  void reset() { read_.clear(); }

 private:
  std::size_t max_packet_;
  std::size_t read_size_;
  std::vector<std::byte> read_;
};

// What the phone's mux does with one completed read.
struct mux_read_verdict {
  enum class kind : std::uint8_t {
    packet,     // exactly one mux packet: goes to the mux engine
    empty,      // a lone ZLP ended a read that held nothing: ignored
    too_large,  // over 65535 bytes: dropped, CONTROL type 3 error text back
    mismatch,   // its mux header's length is not the read's size: dropped
  };
  kind what;
  std::string control_text;  // for too_large: the phone's error text
};

// The largest message the phone's mux takes (the 16-bit length in its reports).
inline constexpr std::size_t phone_max_message = 65535;
// The phone's read buffer. Inferred: the one error a real phone is reported to send for
// merged transfers names exactly 65536 bytes, i.e. the read stopped at a full buffer.
inline constexpr std::size_t phone_read_size = 65536;

mux_read_verdict judge_mux_read(std::span<const std::byte> read);

}  // namespace tether::sim
