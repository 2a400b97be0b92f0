#include "phone/bulk_out_reads.hpp"

#include "base/byte_order.hpp"

#include <algorithm>
#include <utility>

namespace tether::sim {

bulk_out_reads::bulk_out_reads(std::size_t max_packet, std::size_t read_size)
    : max_packet_(max_packet), read_size_(read_size) {}

std::vector<std::vector<std::byte>> bulk_out_reads::transfer(std::span<const std::byte> data,
                                                             bool zero_packet) {
  std::vector<std::vector<std::byte>> done;
  // A transfer that is not a whole number of full packets ends with a short one; a
  // zero-length transfer is itself a ZLP.
  const bool terminated = data.size() % max_packet_ != 0 || data.empty() || zero_packet;
  while (!data.empty()) {
    const std::size_t take = std::min(read_size_ - read_.size(), data.size());
    read_.insert(read_.end(), data.begin(), data.begin() + static_cast<std::ptrdiff_t>(take));
    data = data.subspan(take);
    if (read_.size() == read_size_) done.push_back(std::exchange(read_, {}));  // buffer full
  }
  // What ends the transfer (its short packet or ZLP) also ends the read under way: an
  // empty one when the buffer filled exactly at the transfer's end, as on the wire.
  if (terminated) done.push_back(std::exchange(read_, {}));
  return done;
}

mux_read_verdict judge_mux_read(std::span<const std::byte> read) {
  using kind = mux_read_verdict::kind;
  if (read.empty()) return {kind::empty, {}};
  // Merged transfers over 65535 bytes: the phone says so in a CONTROL type 3 packet and
  // drops them. Text as logged from real phones when usbip merged usbmuxd's transfers
  // (libimobiledevice/usbmuxd#247, dorssel/usbipd-win#867).
  if (read.size() > phone_max_message)
    return {kind::too_large, "asyncReadComplete, message was too large (" +
                                 std::to_string(read.size()) +
                                 " bytes, max = " + std::to_string(phone_max_message) + ")"};
  // The mux header's length (bytes 4-7, big-endian, same place in v1 and v2 headers)
  // must be the read's size. What a real phone does with a smaller read that holds a
  // packet plus the start of the next is not documented beyond "misparses" (netmuxd
  // 8c2ae6f, "write zlp's to avoid too big of packets"); the sim drops it whole, so the
  // host's mistake costs data it can see go missing rather than passing by luck.
  if (read.size() < 8) return {kind::mismatch, {}};
  const std::size_t length = base::load_be32(read.data() + 4);
  if (length != read.size()) return {kind::mismatch, {}};
  return {kind::packet, {}};
}

}  // namespace tether::sim
