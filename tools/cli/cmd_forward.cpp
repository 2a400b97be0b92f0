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

nlohmann::json forward_json(plist_t f) {
  auto s = [&](const char* k) { return proto::string_item(f, k).value_or(""); };
  auto u = [&](const char* k) { return proto::uint_item(f, k).value_or(0); };
  return {{"name", s("Name")},
          {"address", s("LocalAddress")},
          {"local_port", u("LocalPort")},
          {"phone_port", u("PhonePort")},
          {"udid", s("UDID")},
          {"state", s("State")},
          {"last_error", s("LastError")},
          {"clients_active", u("ClientsActive")},
          {"clients_total", u("ClientsTotal")},
          {"connect_failures", u("ConnectFailures")},
          {"bytes_to_phone", u("BytesToPhone")},
          {"bytes_from_phone", u("BytesFromPhone")}};
}

}  // namespace

int run_forward_add(const global_options& o, const forward_args& f) {
  // Without --udid a forward serves the only phone attached. With several attached now,
  // its clients would wait: refuse as `connect` does, unless that is what was asked.
  if (o.udid.empty() && !f.any_phone) {
    {  // The daemon must be tetherd first: usbmuxd keeps no forwards, with any phones.
      mux_client probe(o.socket);
      plist_t list = plist_new_dict();
      plist_dict_set_item(list, "MessageType", plist_new_string("TetherForwardList"));
      tetherd_request(probe, list, "keep port forwards");
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
  plist_t req = plist_new_dict();
  plist_dict_set_item(req, "MessageType", plist_new_string("TetherForwardAdd"));
  plist_dict_set_item(req, "LocalAddress", plist_new_string(f.address.c_str()));
  plist_dict_set_item(req, "LocalPort", plist_new_uint(f.local_port));
  plist_dict_set_item(req, "PhonePort", plist_new_uint(f.phone_port));
  if (!o.udid.empty()) plist_dict_set_item(req, "UDID", plist_new_string(o.udid.c_str()));
  if (!f.name.empty()) plist_dict_set_item(req, "Name", plist_new_string(f.name.c_str()));
  const auto reply = tetherd_request(c, req, "keep port forwards");
  const auto j = forward_json(plist_dict_get_item(reply.get(), "Forward"));
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
  plist_t req = plist_new_dict();
  plist_dict_set_item(req, "MessageType", plist_new_string("TetherForwardList"));
  const auto reply = tetherd_request(c, req, "list port forwards");
  plist_t list = plist_dict_get_item(reply.get(), "Forwards");
  auto all = nlohmann::json::array();
  for (std::uint32_t i = 0; list != nullptr && i < plist_array_get_size(list); ++i)
    all.push_back(forward_json(plist_array_get_item(list, i)));
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
  plist_t req = plist_new_dict();
  plist_dict_set_item(req, "MessageType", plist_new_string("TetherForwardRemove"));
  plist_dict_set_item(req, "Name", plist_new_string(name.c_str()));
  tetherd_request(c, req, "remove port forwards");
  return ok;
}

}  // namespace tether::cli
