#pragma once
// The phones a daemon reports, and choosing one: the --udid given, or the only phone
// attached; several and none chosen is an error that lists them.
#include <plist/plist.h>

#include <cstdint>
#include <string>
#include <vector>

#include "tools/cli/mux_client.hpp"

namespace tether::cli {

struct phone {
  std::uint32_t device_id = 0;
  std::string udid;
  std::uint16_t product_id = 0;
  std::uint64_t speed_bps = 0;
  std::string connection_type;
  std::uint32_t location = 0;
};

// From an Attached message or a DeviceList entry (both carry Properties).
phone phone_from(plist_t attached);
std::vector<phone> list_phones(mux_client& c);
// The phones in a reply to ListDevices.
std::vector<phone> phones_from_reply(plist_t reply);
phone choose_phone(const std::vector<phone>& phones, const std::string& udid);

std::string product_name(std::uint16_t product_id);
std::string speed_text(std::uint64_t bps);

}  // namespace tether::cli
