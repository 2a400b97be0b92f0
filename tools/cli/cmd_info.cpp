// tether info: one phone in detail (speed, configuration, counters, its connections
// and forwards), from tetherd's TetherStatus; and tether log-level.
#include <nlohmann/json.hpp>

#include <cstdio>

#include "tools/cli/cli_error.hpp"
#include "tools/cli/commands.hpp"
#include "tools/cli/output.hpp"
#include "tools/cli/phones.hpp"
#include "tools/cli/tetherd_requests.hpp"

namespace tether::cli {

int run_info(const global_options& o) {
  const std::string address = o.socket;
  phone p;
  {
    mux_client c(address);
    p = choose_phone(list_phones(c), o.udid);
  }
  mux_client c(address);
  plist_t req = plist_new_dict();
  plist_dict_set_item(req, "MessageType", plist_new_string("TetherStatus"));
  const auto status = tetherd_request(c, req, "report counters");
  auto u = [](plist_t d, const char* k) { return proto::uint_item(d, k).value_or(0); };
  auto s = [](plist_t d, const char* k) { return proto::string_item(d, k).value_or(""); };

  nlohmann::json j{{"udid", p.udid},
                   {"device_id", p.device_id},
                   {"product", product_name(p.product_id)},
                   {"product_id", p.product_id},
                   {"speed_bps", p.speed_bps},
                   {"connection_type", p.connection_type},
                   {"location", p.location}};
  plist_t phones = plist_dict_get_item(status.get(), "Phones");
  for (std::uint32_t i = 0; phones != nullptr && i < plist_array_get_size(phones); ++i) {
    plist_t e = plist_array_get_item(phones, i);
    if (u(e, "DeviceID") != p.device_id) continue;
    j["configuration"] = u(e, "Configuration");
    j["seconds_attached"] = u(e, "SecondsAttached");
    j["connections_open"] = u(e, "ConnectionsOpen");
    j["connections_total"] = u(e, "ConnectionsTotal");
    j["bytes_to_phone"] = u(e, "BytesToPhone");
    j["bytes_from_phone"] = u(e, "BytesFromPhone");
    j["packets_to_phone"] = u(e, "PacketsToPhone");
    j["packets_from_phone"] = u(e, "PacketsFromPhone");
    j["protocol_errors"] = u(e, "ProtocolErrors");
  }
  auto conns = nlohmann::json::array();
  plist_t cs = plist_dict_get_item(status.get(), "Connections");
  for (std::uint32_t i = 0; cs != nullptr && i < plist_array_get_size(cs); ++i) {
    plist_t e = plist_array_get_item(cs, i);
    if (u(e, "DeviceID") != p.device_id) continue;
    conns.push_back({{"client", s(e, "Client")},
                     {"phone_port", u(e, "PhonePort")},
                     {"state", s(e, "State")},
                     {"seconds_open", u(e, "SecondsOpen")},
                     {"bytes_to_phone", u(e, "BytesToPhone")},
                     {"bytes_from_phone", u(e, "BytesFromPhone")}});
  }
  j["connections"] = conns;
  mux_client fc(address);
  plist_t freq = plist_new_dict();
  plist_dict_set_item(freq, "MessageType", plist_new_string("TetherForwardList"));
  const auto fl = tetherd_request(fc, freq, "list port forwards");
  auto forwards = nlohmann::json::array();
  plist_t fs = plist_dict_get_item(fl.get(), "Forwards");
  for (std::uint32_t i = 0; fs != nullptr && i < plist_array_get_size(fs); ++i) {
    plist_t e = plist_array_get_item(fs, i);
    if (!s(e, "UDID").empty() && s(e, "UDID") != p.udid) continue;
    forwards.push_back({{"name", s(e, "Name")},
                        {"local", s(e, "LocalAddress") + ":" + std::to_string(u(e, "LocalPort"))},
                        {"phone_port", u(e, "PhonePort")},
                        {"state", s(e, "State")}});
  }
  j["forwards"] = forwards;

  if (o.json) {
    std::puts(j.dump(2).c_str());
    return ok;
  }
  std::printf("%s  %s, device %u\n", p.udid.c_str(), product_name(p.product_id).c_str(),
              p.device_id);
  std::printf("  link          %s %s, configuration %s, location %u\n", p.connection_type.c_str(),
              speed_text(p.speed_bps).c_str(),
              j.contains("configuration")
                  ? std::to_string(j["configuration"].get<std::uint64_t>()).c_str()
                  : "?",
              p.location);
  if (j.contains("bytes_to_phone")) {
    std::printf("  traffic       %s to the phone, %s from it (%llu / %llu packets)\n",
                bytes_text(j["bytes_to_phone"]).c_str(), bytes_text(j["bytes_from_phone"]).c_str(),
                static_cast<unsigned long long>(j["packets_to_phone"].get<std::uint64_t>()),
                static_cast<unsigned long long>(j["packets_from_phone"].get<std::uint64_t>()));
    std::printf("  connections   %llu open, %llu since attached; %llu protocol errors\n",
                static_cast<unsigned long long>(j["connections_open"].get<std::uint64_t>()),
                static_cast<unsigned long long>(j["connections_total"].get<std::uint64_t>()),
                static_cast<unsigned long long>(j["protocol_errors"].get<std::uint64_t>()));
  }
  for (const auto& cn : conns)
    std::printf("    port %-6llu %-10s %s, %s up, %s down (%s)\n",
                static_cast<unsigned long long>(cn["phone_port"].get<std::uint64_t>()),
                cn["state"].get<std::string>().c_str(),
                (std::to_string(cn["seconds_open"].get<std::uint64_t>()) + " s").c_str(),
                bytes_text(cn["bytes_to_phone"]).c_str(),
                bytes_text(cn["bytes_from_phone"]).c_str(),
                cn["client"].get<std::string>().c_str());
  std::printf("  forwards      %zu\n", forwards.size());
  for (const auto& fw : forwards)
    std::printf("    %-12s %s -> %llu: %s\n", fw["name"].get<std::string>().c_str(),
                fw["local"].get<std::string>().c_str(),
                static_cast<unsigned long long>(fw["phone_port"].get<std::uint64_t>()),
                fw["state"].get<std::string>().c_str());
  return ok;
}

int run_log_level(const global_options& o, const std::string& level) {
  mux_client c(o.socket);
  plist_t req = plist_new_dict();
  plist_dict_set_item(req, "MessageType", plist_new_string("TetherSetLogLevel"));
  plist_dict_set_item(req, "Level", plist_new_string(level.c_str()));
  tetherd_request(c, req, "change its log level");
  return ok;
}

}  // namespace tether::cli
