// tether watch: attach, detach and pair events as they happen, one line each (or one
// JSON object per line), until interrupted. With udev's start, tetherd runs only while a
// phone is attached, so watch waits for the daemon when it is not there (yet, or any
// more), and says so once: it is how one waits for the next phone.
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <map>
#include <optional>
#include <thread>

#include "tools/cli/cli_error.hpp"
#include "tools/cli/commands.hpp"
#include "tools/cli/output.hpp"
#include "tools/cli/phones.hpp"

namespace tether::cli {

namespace {

// One session with the daemon: the events until it goes away.
void watch_once(const global_options& o, mux_client& c) {
  plist_t req = plist_new_dict();
  plist_dict_set_item(req, "MessageType", plist_new_string("Listen"));
  if (result_number(c.request(req).get()) != 0)
    throw cli_error(failed, "the daemon refused to report events");
  const bool stamp = stdout_is_terminal() && !o.json;  // people like a clock; programs don't
  std::map<std::uint32_t, std::string> udids;          // Detached carries only the DeviceID
  while (auto m = c.next_message()) {
    const auto type = proto::string_item(m.get(), "MessageType").value_or("");
    const auto id = static_cast<std::uint32_t>(proto::uint_item(m.get(), "DeviceID").value_or(0));
    nlohmann::json j{{"event", type}, {"device_id", id}};
    std::string line;
    if (type == "Attached") {
      const phone p = phone_from(m.get());
      udids[id] = p.udid;
      if (!o.udid.empty() && p.udid != o.udid) continue;
      j["udid"] = p.udid;
      j["product"] = product_name(p.product_id);
      j["speed_bps"] = p.speed_bps;
      line = "attached " + p.udid + " " + product_name(p.product_id) + " " +
             speed_text(p.speed_bps) + " " + p.connection_type + " (device " + std::to_string(id) +
             ")";
    } else if (type == "Detached" || type == "Paired") {
      const std::string udid = udids.count(id) ? udids[id] : "?";
      if (!o.udid.empty() && udid != o.udid) continue;
      j["udid"] = udid;
      line = std::string(type == "Detached" ? "detached " : "paired ") + udid + " (device " +
             std::to_string(id) + ")";
      if (type == "Detached") udids.erase(id);
    } else {
      continue;
    }
    if (o.json) {
      std::puts(j.dump().c_str());
    } else {
      if (stamp) {
        char t[16];
        const std::time_t now = std::time(nullptr);
        std::strftime(t, sizeof t, "%H:%M:%S ", std::localtime(&now));
        line = t + line;
      }
      std::puts(line.c_str());
    }
    std::fflush(stdout);
  }
  // The daemon went away, and its phones with it: say so for each one still known.
  for (const auto& [id, udid] : udids) {
    if (!o.udid.empty() && udid != o.udid) continue;
    if (o.json)
      std::puts(
          nlohmann::json{{"event", "Detached"}, {"device_id", id}, {"udid", udid}}.dump().c_str());
    else
      std::printf("detached %s (device %u: the daemon stopped)\n", udid.c_str(), id);
  }
  std::fflush(stdout);
}

}  // namespace

int run_watch(const global_options& o) {
  // An address that cannot be a daemon's is a mistake to say now, not a wait.
  const auto where = proto::usbmuxd::parse_daemon_address(o.socket);
  if (!where) throw cli_error(usage, where.describe());
  bool said_waiting = false;
  for (;;) {
    std::optional<mux_client> c;
    try {
      c.emplace(o.socket);
    } catch (const cli_error& e) {
      if (e.code != no_daemon) throw;
      if (!said_waiting)
        std::fprintf(stderr,
                     "tether: waiting for the daemon at %s (tetherd starts when a phone "
                     "is plugged in); Ctrl-C stops\n",
                     o.socket.c_str());
      said_waiting = true;
      std::this_thread::sleep_for(std::chrono::seconds(1));
      continue;
    }
    said_waiting = false;
    try {
      watch_once(o, *c);
    } catch (const cli_error& e) {
      if (e.code != no_daemon) throw;
    }
  }
}

}  // namespace tether::cli
