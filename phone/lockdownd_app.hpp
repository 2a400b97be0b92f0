#pragma once
// A minimal lockdownd for port 62078: 4-byte big-endian length, then a plist.
// It answers QueryType (what usbmuxd's preflight and every libimobiledevice tool ask
// first) and GetValue without a session (ideviceinfo -s), and refuses the rest with an
// error a client can show. There is no pairing: the virtual phone is never "trusted".
#include <memory>
#include <string>

#include "phone/phone_apps.hpp"

namespace tether::sim {

struct lockdown_identity {
  std::string udid;
  std::string device_name = "tether virtual iPhone";
  std::string product_type = "iPhone14,2";
  std::string product_version = "17.0";
  std::string build_version = "21A329";
};

std::unique_ptr<phone_app> make_lockdownd_app(lockdown_identity id);

inline constexpr std::uint16_t lockdownd_port = 62078;
inline constexpr std::uint32_t max_lockdown_message = 1 << 20;

}  // namespace tether::sim
