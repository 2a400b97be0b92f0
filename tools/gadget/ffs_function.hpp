#pragma once
// One FunctionFS instance at run time: mounted under the run directory, its ep0 opened
// non-blocking (a blocking read of ep0 holds a FunctionFS lock while it sleeps, and a
// UDC unbind then hangs in the kernel), its descriptors and strings written, its
// events read one at a time.
#include <linux/usb/functionfs.h>

#include <filesystem>
#include <optional>
#include <string>

#include "tools/gadget/ffs_descriptors.hpp"

namespace tether::gadget {

class ffs_function {
 public:
  ffs_function(function_slot slot, std::string instance, std::filesystem::path mount_dir);
  ~ffs_function();
  ffs_function(const ffs_function&) = delete;
  ffs_function& operator=(const ffs_function&) = delete;

  const function_slot& slot() const { return slot_; }
  const std::string& instance() const { return instance_; }
  int ep0() const { return ep0_; }

  // mount -t functionfs INSTANCE DIR, then ep0 with the descriptors and strings. After
  // this the endpoint files ep1, ep2, ... exist, numbered in descriptor order.
  bool start(const ffs_blobs& blobs, std::string& error);
  // Opens endpoint file `n` (blocking I/O; the I/O threads are interrupted by signal).
  int open_endpoint(int n, std::string& error) const;

  // The next event, or nullopt when none is queued.
  std::optional<usb_functionfs_event> next_event();
  // Refuses the SETUP just read: FunctionFS stalls ep0 when the data stage is taken
  // in the wrong direction.
  void stall(const usb_ctrlrequest& setup);

  // Closes ep0 and unmounts; safe to call twice.
  void stop();

 private:
  function_slot slot_;
  std::string instance_;
  std::filesystem::path dir_;
  int ep0_ = -1;
  bool mounted_ = false;
};

// Unmounts whatever a previous run left mounted at `dir` (a crash, a kill -9), so the
// instance can be made again. Quiet when nothing is there.
void unmount_leftover(const std::filesystem::path& dir);

const char* event_name(std::uint8_t type);

}  // namespace tether::gadget
