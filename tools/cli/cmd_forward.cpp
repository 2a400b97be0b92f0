// tether forward add / list / remove: port forwards kept by tetherd itself.
#include <nlohmann/json.hpp>

#include <cstdio>

#include "tools/cli/cli_error.hpp"
#include "tools/cli/commands.hpp"
#include "tools/cli/output.hpp"
#include "tools/cli/phones.hpp"
#include "tools/cli/tetherd_requests.hpp"

namespace tether::cli {
namespace {

namespace ctl = proto::tetherd;

nlohmann::json forward_json(const ctl::forward_status& f) {
  return {{"name", f.spec.name},
          {"address", f.spec.bind_address},
          {"local_port", f.bound_port},
          {"phone_port", f.spec.phone_port},
          {"udid", f.spec.udid},
          {"state", f.state},
          {"last_error", f.last_error},
          {"clients_active", f.clients_active},
          {"clients_total", f.clients_total},
          {"connect_failures", f.connect_failures},
          {"bytes_to_phone", f.bytes_to_phone},
          {"bytes_from_phone", f.bytes_from_phone}};
}

}  // namespace

int run_forward_add(const global_options& o, const forward_args& f) {
  // Without --udid a forward serves the only phone attached. With several attached now,
  // its clients would wait: refuse as `connect` does, unless that is what was asked.
  if (o.udid.empty() && !f.any_phone) {
    {  // The daemon must be tetherd first: usbmuxd keeps no forwards, with any phones.
      mux_client probe(o.socket);
      tetherd_request(probe, ctl::requests::forward_list{}, "keep port forwards");
    }
    mux_client lister(o.socket);
    if (const auto phones = list_phones(lister); phones.size() > 1) {
      try {
        choose_phone(phones, "");
      } catch (const cli_error& e) {
        throw cli_error(e.code, std::string(e.what()) +
                                    "\n(or --any-phone: the forward serves whichever phone is "
                                    "the only one attached when a client connects)");
      }
    }
  }
  mux_client c(o.socket);
  const ctl::requests::forward_add add{{.name = f.name,
                                        .bind_address = f.address,
                                        .local_port = f.local_port,
                                        .phone_port = f.phone_port,
                                        .udid = o.udid}};
  const auto reply = tetherd_request(c, add, "keep port forwards");
  const auto j =
      forward_json(decoded(ctl::decode_forward_added(reply.get()), "a forward's addition"));
  if (o.json) {
    std::puts(j.dump(2).c_str());
  } else {
    // The one line a script needs: the port, which matters most when 0 was asked for.
    std::printf("forward %s: %s:%llu -> phone port %llu on %s\n",
                j["name"].get<std::string>().c_str(), j["address"].get<std::string>().c_str(),
                static_cast<unsigned long long>(j["local_port"].get<std::uint64_t>()),
                static_cast<unsigned long long>(j["phone_port"].get<std::uint64_t>()),
                o.udid.empty() ? "the only phone attached" : o.udid.c_str());
  }
  return ok;
}

int run_forward_list(const global_options& o) {
  mux_client c(o.socket);
  const auto reply = tetherd_request(c, ctl::requests::forward_list{}, "list port forwards");
  auto all = nlohmann::json::array();
  for (const auto& f : decoded(ctl::decode_forward_list(reply.get()), "the list of forwards"))
    all.push_back(forward_json(f));
  if (o.json) {
    std::puts(all.dump(2).c_str());
    return ok;
  }
  if (all.empty()) {
    std::fputs("no forwards (add one with `tether forward add LOCAL PHONE`)\n", stderr);
    return ok;
  }
  std::vector<std::vector<std::string>> rows{
      {"NAME", "LOCAL", "PHONE PORT", "PHONE", "CLIENTS", "TO PHONE", "FROM PHONE", "STATE"}};
  for (const auto& f : all)
    rows.push_back(
        {f["name"],
         f["address"].get<std::string>() + ":" +
             std::to_string(f["local_port"].get<std::uint64_t>()),
         std::to_string(f["phone_port"].get<std::uint64_t>()),
         f["udid"].get<std::string>().empty() ? "(only one)" : f["udid"].get<std::string>(),
         std::to_string(f["clients_active"].get<std::uint64_t>()) + " of " +
             std::to_string(f["clients_total"].get<std::uint64_t>()),
         bytes_text(f["bytes_to_phone"]), bytes_text(f["bytes_from_phone"]), f["state"]});
  print_table(rows);
  return ok;
}

int run_forward_remove(const global_options& o, const std::string& name) {
  mux_client c(o.socket);
  tetherd_request(c, ctl::requests::forward_remove{name}, "remove port forwards");
  return ok;
}

}  // namespace tether::cli
