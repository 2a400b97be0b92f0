#include "tools/gadget/ffs_function.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace tether::gadget {
namespace {

bool write_all(int fd, const std::vector<std::uint8_t>& data) {
  return ::write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size());
}

}  // namespace

ffs_function::ffs_function(function_slot slot, std::string instance,
                           std::filesystem::path mount_dir)
    : slot_(std::move(slot)), instance_(std::move(instance)), dir_(std::move(mount_dir)) {}

ffs_function::~ffs_function() { stop(); }

bool ffs_function::start(const ffs_blobs& blobs, std::string& error) {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) {
    error = "cannot make " + dir_.string() + ": " + ec.message();
    return false;
  }
  if (::mount(instance_.c_str(), dir_.c_str(), "functionfs", 0, nullptr) != 0) {
    error = "cannot mount FunctionFS instance " + instance_ + " on " + dir_.string() + ": " +
            std::strerror(errno) +
            (errno == ENODEV ? " (no functionfs filesystem: modprobe usb_f_fs)" : "");
    return false;
  }
  mounted_ = true;
  const std::filesystem::path ep0 = dir_ / "ep0";
  ep0_ = ::open(ep0.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (ep0_ < 0) {
    error = "cannot open " + ep0.string() + ": " + std::strerror(errno);
    return false;
  }
  if (!write_all(ep0_, blobs.descriptors)) {
    error = "FunctionFS refused the descriptors of " + instance_ + ": " + std::strerror(errno);
    return false;
  }
  if (!write_all(ep0_, blobs.strings)) {
    error = "FunctionFS refused the strings of " + instance_ + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

int ffs_function::open_endpoint(int n, std::string& error) const {
  const std::filesystem::path path = dir_ / ("ep" + std::to_string(n));
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) error = "cannot open " + path.string() + ": " + std::strerror(errno);
  return fd;
}

std::optional<usb_functionfs_event> ffs_function::next_event() {
  if (ep0_ < 0) return std::nullopt;
  // One at a time: after a SETUP, FunctionFS wants its answer before the next read.
  usb_functionfs_event e{};
  if (::read(ep0_, &e, sizeof e) != static_cast<ssize_t>(sizeof e)) return std::nullopt;
  return e;
}

void ffs_function::stall(const usb_ctrlrequest& setup) {
  char byte = 0;
  // An IN request answered by a read, an OUT request by a write: both stall (EL2HLT).
  if (setup.bRequestType & USB_DIR_IN)
    (void)::read(ep0_, &byte, 0);
  else
    (void)::write(ep0_, &byte, 0);
}

void ffs_function::stop() {
  if (ep0_ >= 0) ::close(ep0_);
  ep0_ = -1;
  if (mounted_) {
    // Lazily: an endpoint file an I/O thread still holds must not keep the mount.
    ::umount2(dir_.c_str(), MNT_DETACH);
    mounted_ = false;
  }
  std::error_code ec;
  std::filesystem::remove(dir_, ec);
}

void unmount_leftover(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) return;
  ::umount2(dir.c_str(), MNT_DETACH);
  std::filesystem::remove(dir, ec);
}

const char* event_name(std::uint8_t type) {
  switch (type) {
    case FUNCTIONFS_BIND: return "BIND";
    case FUNCTIONFS_UNBIND: return "UNBIND";
    case FUNCTIONFS_ENABLE: return "ENABLE";
    case FUNCTIONFS_DISABLE: return "DISABLE";
    case FUNCTIONFS_SETUP: return "SETUP";
    case FUNCTIONFS_SUSPEND: return "SUSPEND";
    case FUNCTIONFS_RESUME: return "RESUME";
  }
  return "unknown event";
}

}  // namespace tether::gadget
