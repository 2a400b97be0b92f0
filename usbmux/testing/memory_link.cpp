#include "usbmux/testing/memory_link.hpp"

#include <algorithm>

namespace tether::usbmux::testing {

memory_link::memory_link(session& host, session& device)
    : host_(host),
      device_(device),
      packet_(std::max<std::size_t>(
          {host.options().max_packet_size, device.options().max_packet_size, min_packet_buffer})) {}

std::size_t memory_link::pump(std::size_t max_packets) {
  std::size_t total = 0;
  while (!error_ && total < max_packets) {
    std::size_t moved = move(host_, device_, direction::to_device, max_packets - total);
    moved += move(device_, host_, direction::to_host, max_packets - total - moved);
    if (moved == 0) break;
    total += moved;
  }
  return total;
}

std::size_t memory_link::move(session& from, session& to, direction d, std::size_t budget) {
  const auto idx = static_cast<std::size_t>(d);
  std::size_t moved = 0;
  while (moved < budget && !error_) {
    const std::size_t n = from.pull_packet(packet_);
    if (n == 0) break;
    const auto p = std::span<const std::byte>(packet_).first(n);
    if (tap_) tap_(d, p);
    ++moved;
    if (chunker_) {
      pending_[idx].insert(pending_[idx].end(), p.begin(), p.end());
    } else if (auto ec = to.receive(p)) {
      error_ = ec;
    }
  }
  if (chunker_ && !error_) deliver(to, pending_[idx]);
  return moved;
}

void memory_link::deliver(session& to, std::vector<std::byte>& pending) {
  std::size_t off = 0;
  while (off < pending.size() && !error_) {
    const std::size_t left = pending.size() - off;
    const std::size_t n = std::clamp<std::size_t>(chunker_(left), 1, left);
    if (auto ec = to.receive(std::span<const std::byte>(pending).subspan(off, n))) error_ = ec;
    off += n;
  }
  pending.clear();
}

}  // namespace tether::usbmux::testing
