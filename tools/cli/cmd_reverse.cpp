// tether reverse add / list / remove: reverse channels kept by tetherd, where a phone
// app's accepted connection is a line to a service on this board.
#include <nlohmann/json.hpp>

#include <cstdio>

#include "tools/cli/cli_error.hpp"
#include "tools/cli/commands.hpp"
#include "tools/cli/output.hpp"
#include "tools/cli/tetherd_requests.hpp"

namespace tether::cli {
namespace {

namespace ctl = proto::tetherd;

nlohmann::json reverse_json(const ctl::reverse_status& r) {
  return {{"name", r.spec.name},
          {"phone_port", r.spec.phone_port},
          {"address", r.spec.local_address},
          {"local_port", r.spec.local_port},
          {"udid", r.spec.udid},
          {"spares", r.spec.spares},
          {"state", r.state},
          {"last_error", r.last_error},
          {"phones", r.phones},
          {"spares_open", r.spares_open},
          {"in_use", r.in_use},
          {"total", r.total},
          {"refused", r.refused},
          {"local_failures", r.local_failures},
          {"bytes_to_phone", r.bytes_to_phone},
          {"bytes_from_phone", r.bytes_from_phone}};
}

}  // namespace

int run_reverse_add(const global_options& o, const reverse_args& r) {
  mux_client c(o.socket);
  const ctl::requests::reverse_add add{{.name = r.name,
                                        .phone_port = r.phone_port,
                                        .local_address = r.address,
                                        .local_port = r.local_port,
                                        .udid = o.udid,
                                        .spares = r.spares}};
  const auto reply = tetherd_request(c, add, "keep reverse channels");
  const auto added = decoded(ctl::decode_reverse_added(reply.get()), "a reverse's addition");
  if (o.json) {
    std::puts(reverse_json(added).dump(2).c_str());
    return ok;
  }
  std::printf("reverse %s: phone port %u -> %s:%u, %u spares on %s (%s)\n", added.spec.name.c_str(),
              added.spec.phone_port, added.spec.local_address.c_str(), added.spec.local_port,
              added.spec.spares, added.spec.udid.empty() ? "every phone" : added.spec.udid.c_str(),
              added.state.c_str());
  return ok;
}

int run_reverse_list(const global_options& o) {
  mux_client c(o.socket);
  const auto reply = tetherd_request(c, ctl::requests::reverse_list{}, "list reverse channels");
  auto all = nlohmann::json::array();
  for (const auto& r : decoded(ctl::decode_reverse_list(reply.get()), "the list of reverses"))
    all.push_back(reverse_json(r));
  if (o.json) {
    std::puts(all.dump(2).c_str());
    return ok;
  }
  if (all.empty()) {
    std::fputs("no reverses (add one with `tether reverse add PHONE LOCAL`)\n", stderr);
    return ok;
  }
  auto n = [](const nlohmann::json& v) { return std::to_string(v.get<std::uint64_t>()); };
  std::vector<std::vector<std::string>> rows{{"NAME", "PHONE PORT", "LOCAL", "PHONES", "SPARES",
                                              "IN USE", "TAKEN", "REFUSED", "TO PHONE",
                                              "FROM PHONE", "STATE"}};
  for (const auto& r : all)
    rows.push_back({r["name"], n(r["phone_port"]),
                    r["address"].get<std::string>() + ":" + n(r["local_port"]),
                    r["udid"].get<std::string>().empty() ? n(r["phones"]) + " (all)"
                                                         : r["udid"].get<std::string>(),
                    n(r["spares_open"]) + " of " + n(r["spares"]), n(r["in_use"]), n(r["total"]),
                    n(r["refused"]), bytes_text(r["bytes_to_phone"]),
                    bytes_text(r["bytes_from_phone"]), r["state"]});
  print_table(rows);
  return ok;
}

int run_reverse_remove(const global_options& o, const std::string& name) {
  mux_client c(o.socket);
  tetherd_request(c, ctl::requests::reverse_remove{name}, "remove reverse channels");
  return ok;
}

}  // namespace tether::cli
