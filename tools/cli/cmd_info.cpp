// tether info: one phone in detail (speed, configuration, counters, its connections,
// forwards and reverses), from tetherd's TetherStatus; and tether log-level.
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
  namespace ctl = proto::tetherd;
  mux_client c(address);
  const auto status = decoded(
      ctl::decode_status(tetherd_request(c, ctl::requests::status{}, "report counters").get()),
      "a status request");

  nlohmann::json j{{"udid", p.udid},
                   {"device_id", p.device_id},
                   {"product", product_name(p.product_id)},
                   {"product_id", p.product_id},
                   {"speed_bps", p.speed_bps},
                   {"connection_type", p.connection_type},
                   {"location", p.location}};
  for (const auto& e : status.phones) {
    if (e.device_id != p.device_id) continue;
    j["configuration"] = e.configuration;
    j["seconds_attached"] = e.seconds_attached;
    j["connections_open"] = e.connections_open;
    j["connections_total"] = e.connections_total;
    j["bytes_to_phone"] = e.bytes_to_phone;
    j["bytes_from_phone"] = e.bytes_from_phone;
    j["packets_to_phone"] = e.packets_to_phone;
    j["packets_from_phone"] = e.packets_from_phone;
    j["protocol_errors"] = e.protocol_errors;
    j["pairing"] = e.pairing;
  }
  auto conns = nlohmann::json::array();
  for (const auto& e : status.connections) {
    if (e.device_id != p.device_id) continue;
    conns.push_back({{"client", e.client},
                     {"phone_port", e.phone_port},
                     {"state", e.state},
                     {"seconds_open", e.seconds_open},
                     {"bytes_to_phone", e.bytes_to_phone},
                     {"bytes_from_phone", e.bytes_from_phone}});
  }
  j["connections"] = conns;
  mux_client fc(address);
  const auto listed =
      decoded(ctl::decode_forward_list(
                  tetherd_request(fc, ctl::requests::forward_list{}, "list port forwards").get()),
              "the list of forwards");
  auto forwards = nlohmann::json::array();
  for (const auto& e : listed) {
    if (!e.spec.udid.empty() && e.spec.udid != p.udid) continue;
    forwards.push_back({{"name", e.spec.name},
                        {"local", e.spec.bind_address + ":" + std::to_string(e.bound_port)},
                        {"phone_port", e.spec.phone_port},
                        {"state", e.state}});
  }
  j["forwards"] = forwards;
  mux_client rc(address);
  const auto reversed = decoded(
      ctl::decode_reverse_list(
          tetherd_request(rc, ctl::requests::reverse_list{}, "list reverse channels").get()),
      "the list of reverses");
  auto reverses = nlohmann::json::array();
  for (const auto& e : reversed) {
    if (!e.spec.udid.empty() && e.spec.udid != p.udid) continue;
    reverses.push_back({{"name", e.spec.name},
                        {"phone_port", e.spec.phone_port},
                        {"local", e.spec.local_address + ":" + std::to_string(e.spec.local_port)},
                        {"state", e.state}});
  }
  j["reverses"] = reverses;

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
  if (j.contains("pairing") && !j["pairing"].get<std::string>().empty())
    std::printf("  pairing       %s\n", j["pairing"].get<std::string>().c_str());
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
  std::printf("  reverses      %zu\n", reverses.size());
  for (const auto& rv : reverses)
    std::printf("    %-12s %llu -> %s: %s\n", rv["name"].get<std::string>().c_str(),
                static_cast<unsigned long long>(rv["phone_port"].get<std::uint64_t>()),
                rv["local"].get<std::string>().c_str(), rv["state"].get<std::string>().c_str());
  return ok;
}

int run_log_level(const global_options& o, const std::string& level) {
  mux_client c(o.socket);
  tetherd_request(c, proto::tetherd::requests::set_log_level{level}, "change its log level");
  return ok;
}

}  // namespace tether::cli
