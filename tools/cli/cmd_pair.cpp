// tether pair: asks tetherd to pair a phone now, then follows it until the user has
// answered the Trust dialog (or the wait ends), saying what the phone waits for.
#include <csignal>
#include <cstdio>
#include <thread>

#include "tools/cli/cli_error.hpp"
#include "tools/cli/commands.hpp"
#include "tools/cli/phones.hpp"
#include "tools/cli/tetherd_requests.hpp"

namespace tether::cli {

namespace {

volatile std::sig_atomic_t interrupted_flag = 0;
void on_interrupt(int) { interrupted_flag = 1; }

// The pairing state tetherd reports for this phone (by UDID: a phone may re-enumerate
// when Trust is tapped and come back under a new DeviceID); empty while it is away.
std::string pairing_state(const std::string& socket, const std::string& udid) {
  mux_client c(socket);
  namespace ctl = proto::tetherd;
  const auto status = decoded(
      ctl::decode_status(tetherd_request(c, ctl::requests::status{}, "report status").get()),
      "a status request");
  for (const auto& p : status.phones)
    if (p.udid == udid) return p.pairing.empty() ? "checking" : p.pairing;
  return {};
}

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

}  // namespace

int run_pair(const global_options& o, std::chrono::seconds wait) {
  phone p;
  {
    mux_client c(o.socket);
    p = choose_phone(list_phones(c), o.udid);
  }
  {
    mux_client c(o.socket);
    tetherd_request(c, proto::tetherd::requests::pair{p.udid}, "pair a phone");
  }
  std::signal(SIGINT, on_interrupt);
  const auto end = std::chrono::steady_clock::now() + wait;
  std::string last;
  while (std::chrono::steady_clock::now() < end) {
    if (interrupted_flag) throw cli_error(interrupted, "interrupted; tetherd goes on asking");
    const std::string state = pairing_state(o.socket, p.udid);
    // "waiting for Trust (12 s)": said once per kind, not once per second.
    const std::string kind = state.substr(0, state.find(" ("));
    if (kind != last && !state.empty()) {
      last = kind;
      if (starts_with(state, "waiting for Trust"))
        std::printf("%s: tap Trust on the phone (and enter its passcode if it asks)\n",
                    p.udid.c_str());
      else if (starts_with(state, "locked"))
        std::printf("%s: the phone is locked: unlock it to pair\n", p.udid.c_str());
      std::fflush(stdout);
    }
    if (state == "paired") {
      std::printf("%s: paired\n", p.udid.c_str());
      return ok;
    }
    if (starts_with(state, "not trusted"))
      throw cli_error(failed, p.udid + ": " + state +
                                  ": the phone refuses this board until it is replugged; unplug "
                                  "it and plug it back in, and tetherd asks again");
    if (starts_with(state, "not ")) throw cli_error(failed, p.udid + ": " + state);
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  throw cli_error(failed, p.udid + ": not paired after " + std::to_string(wait.count()) + " s (" +
                              (last.empty() ? "the phone is away" : last) +
                              "); tetherd goes on until its own bound: see `tether list`");
}

}  // namespace tether::cli
