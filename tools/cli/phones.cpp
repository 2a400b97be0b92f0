#include "tools/cli/phones.hpp"

#include <cstdio>

#include "tools/cli/cli_error.hpp"

namespace tether::cli {

phone phone_from(plist_t attached) {
  phone p;
  plist_t props = plist_dict_get_item(attached, "Properties");
  if (props == nullptr || plist_get_node_type(props) != PLIST_DICT) props = attached;
  p.device_id =
      static_cast<std::uint32_t>(proto::uint_item(props, "DeviceID")
                                     .value_or(proto::uint_item(attached, "DeviceID").value_or(0)));
  p.udid = proto::string_item(props, "SerialNumber").value_or("");
  p.product_id = static_cast<std::uint16_t>(proto::uint_item(props, "ProductID").value_or(0));
  p.speed_bps = proto::uint_item(props, "ConnectionSpeed").value_or(0);
  p.connection_type = proto::string_item(props, "ConnectionType").value_or("USB");
  p.location = static_cast<std::uint32_t>(proto::uint_item(props, "LocationID").value_or(0));
  return p;
}

std::vector<phone> list_phones(mux_client& c) {
  plist_t req = plist_new_dict();
  plist_dict_set_item(req, "MessageType", plist_new_string("ListDevices"));
  return phones_from_reply(c.request(req).get());
}

std::vector<phone> phones_from_reply(plist_t reply) {
  plist_t list = plist_dict_get_item(reply, "DeviceList");
  if (list == nullptr || plist_get_node_type(list) != PLIST_ARRAY)
    throw cli_error(failed, "the daemon's ListDevices reply has no DeviceList");
  std::vector<phone> out;
  for (std::uint32_t i = 0; i < plist_array_get_size(list); ++i)
    out.push_back(phone_from(plist_array_get_item(list, i)));
  return out;
}

phone choose_phone(const std::vector<phone>& phones, const std::string& udid) {
  if (!udid.empty()) {
    for (const auto& p : phones)
      if (p.udid == udid) return p;
    throw cli_error(no_phone,
                    "no phone with UDID " + udid + " is attached" +
                        (phones.empty() ? "" : " (`tether list` shows the ones that are)"));
  }
  if (phones.empty())
    throw cli_error(no_phone, "no phone attached: is it plugged in and unlocked?");
  if (phones.size() > 1) {
    std::string which;
    for (const auto& p : phones) which += "\n  " + p.udid + "  " + product_name(p.product_id);
    throw cli_error(no_phone, std::to_string(phones.size()) +
                                  " phones attached; choose one with --udid:" + which);
  }
  return phones.front();
}

std::string product_name(std::uint16_t pid) {
  switch (pid) {
    case 0x12a8: return "iPhone";
    case 0x12ab: return "iPad";
    case 0x12aa: return "iPod touch";
    case 0x8600: return "Mac (T2)";
    default: break;
  }
  char buf[24];
  std::snprintf(buf, sizeof buf, "Apple %04x", pid);
  return buf;
}

std::string speed_text(std::uint64_t bps) {
  if (bps == 0) return "?";
  if (bps >= 1'000'000'000) return std::to_string(bps / 1'000'000'000) + " Gbit/s";
  return std::to_string(bps / 1'000'000) + " Mbit/s";
}

}  // namespace tether::cli
