#include "daemon/errc.hpp"

#include <string>

namespace tether::daemon {
namespace {

class daemon_error_category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "tether.daemon"; }

  std::string message(int value) const override {
    switch (static_cast<daemon_errc>(value)) {
      case daemon_errc::bad_option: return "malformed command line";
      case daemon_errc::bad_config: return "malformed configuration";
      case daemon_errc::bad_address: return "not an address tetherd can listen on";
      case daemon_errc::bad_value: return "malformed value";
      case daemon_errc::remote_refused: return "not a loopback address, and remote access is off";
      case daemon_errc::in_use: return "already in use";
      case daemon_errc::limit_reached: return "a configured limit is reached";
      case daemon_errc::not_a_socket: return "not a socket tetherd can listen on";
      case daemon_errc::bad_activation: return "systemd's socket activation is not usable";
      case daemon_errc::unknown_user: return "no such user or group";
      case daemon_errc::privileges_kept: return "root privileges could not be dropped for good";
    }
    return "unknown tetherd error";
  }
};

}  // namespace

const std::error_category& daemon_category() noexcept {
  static const daemon_error_category instance;
  return instance;
}

}  // namespace tether::daemon
