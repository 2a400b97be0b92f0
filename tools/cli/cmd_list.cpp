// tether list: the attached phones, as a table or JSON.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>

#include "tools/cli/cli_error.hpp"
#include "tools/cli/commands.hpp"
#include "tools/cli/output.hpp"
#include "tools/cli/phones.hpp"
#include "tools/cli/tetherd_requests.hpp"

namespace tether::cli {

namespace {

// What tetherd reports beside the list (the silent phones, each phone's pairing); none
// from the reference usbmuxd, which does not know TetherStatus, or when the question
// fails (the list is answered anyway).
proto::tetherd::status_report tetherd_status(mux_client& c) {
  try {
    const auto reply = tetherd_request(c, proto::tetherd::requests::status{}, "report status");
    auto report = proto::tetherd::decode_status(reply.get());
    return report ? std::move(report).value() : proto::tetherd::status_report{};
  } catch (const cli_error&) {
    return {};
  }
}

std::string pairing_of(const proto::tetherd::status_report& s, std::uint32_t device_id) {
  for (const auto& p : s.phones)
    if (p.device_id == device_id) return p.pairing;
  return {};
}

}  // namespace

int run_list(const global_options& o) {
  // At the packaged default, no socket means tetherd is not running: with systemd,
  // tetherd.socket is always there, but an init script's system (or a socket unit
  // stopped by hand) has tetherd only while a phone is attached. That is the answer,
  // not an error.
  if (o.default_socket) {
    const auto where = proto::usbmuxd::parse_daemon_address(o.socket);
    if (where && !where->unix_path.empty() && !std::filesystem::exists(where->unix_path)) {
      if (o.json)
        std::puts("[]");
      else
        std::fprintf(stderr,
                     "no phone attached (tetherd is not running: it starts when a phone "
                     "is plugged in)\n");
      return ok;
    }
  }
  mux_client c(o.socket);
  const auto phones = list_phones(c);
  const auto status = tetherd_status(c);
  if (o.json) {
    auto out = nlohmann::json::array();
    for (const auto& p : phones)
      out.push_back({{"udid", p.udid},
                     {"device_id", p.device_id},
                     {"product", product_name(p.product_id)},
                     {"product_id", p.product_id},
                     {"speed_bps", p.speed_bps},
                     {"connection_type", p.connection_type},
                     {"location", p.location},
                     {"state", "attached"},
                     {"pairing", pairing_of(status, p.device_id)}});
    std::puts(out.dump(2).c_str());
    return ok;
  }
  if (phones.empty()) {
    // tetherd knows the phones that are attached but answer nothing (locked).
    if (const auto& silent = status.silent; !silent.empty()) {
      for (const auto& udid : silent)
        std::fprintf(stderr,
                     "no phone served: %s is attached but answers nothing: is it locked? tetherd "
                     "waits for it to be unlocked\n",
                     udid.c_str());
      return ok;
    }
    // A phone in USB Restricted Mode is not on the bus at all until it is unlocked.
    std::fputs(
        "no phone attached (is it plugged in? a locked iPhone may stay off USB until it "
        "is unlocked)\n",
        stderr);
    return ok;
  }
  std::vector<std::vector<std::string>> rows{{"UDID", "PRODUCT", "SPEED", "TYPE", "STATE"}};
  for (const auto& p : phones) {
    const std::string pairing = pairing_of(status, p.device_id);
    rows.push_back({p.udid, product_name(p.product_id), speed_text(p.speed_bps), p.connection_type,
                    pairing.empty() ? "attached" : "attached, " + pairing});
  }
  print_table(rows);
  return ok;
}

}  // namespace tether::cli
