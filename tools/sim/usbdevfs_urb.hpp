#pragma once
// What the two halves of usbdevfs_device (the device in usbdevfs_device.cpp, the URB
// lifecycle in usbdevfs_urbs.cpp) share. Private to tether-sim.
#include <linux/usbdevice_fs.h>
#include <umockdev.h>

#include <cstddef>
#include <cstdlib>
#include <mutex>

#include "tools/sim/usbdevfs_device.hpp"

namespace tether::sim::detail {

// The fifo node that wakes libusb: one read or write of this size per event.
constexpr std::size_t fifo_chunk = 4096;

// TETHER_SIM_TRACE=1: one line per URB on stderr, for debugging hosts.
inline const bool trace = std::getenv("TETHER_SIM_TRACE") != nullptr;

inline usbdevfs_urb* urb_of(UMockdevIoctlData* d) {
  return reinterpret_cast<usbdevfs_urb*>(d->data);
}

}  // namespace tether::sim::detail

namespace tether::sim {

// The bus timer's callback data. The device clears `device` under `mu` before it dies,
// which also waits for a callback already running on umockdev's thread.
struct usbdevfs_device::timer_hook {
  std::mutex mu;
  usbdevfs_device* device;
};

}  // namespace tether::sim
