#pragma once
// Pairing with one phone, as a state machine with no I/O: the daemon opens a mux
// connection to lockdownd (port 62078), hands over what arrives and sends what comes
// out, and calls tick() at the time asked for. Unlike usbmuxd's preflight, nothing
// here hides the phone: it is listed and its app ports work throughout.
//
//   QueryType ──(a record)──> StartSession, TLS, StopSession ──> paired
//        │                            │ InvalidHostID, TLS refused: the record is stale
//        └─(none)─> GetValue DevicePublicKey, WiFiAddress ──> Pair ──> saved, Paired
//                                       PairingDialogResponsePending: Pair again, 1-3 s apart
//                                       PasswordProtected: again every 2 s (locked)
//                                       UserDeniedPairing: stop until replug or `tether pair`
//
// Waiting for the user is bounded (trust_wait, lock_wait) and so is each answer
// (answer_wait); each end is said in words.
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "pairing/host_identity.hpp"
#include "pairing/tls_pipe.hpp"
#include "proto/lockdown/messages.hpp"

namespace tether::pairing {

using clock = std::chrono::steady_clock;

enum class pair_state {
  checking,           // talking to lockdownd
  waiting_for_trust,  // the Trust dialog is up on the phone
  locked,             // the phone needs its passcode before it pairs
  paired,
  denied,        // "Don't Trust" was tapped
  gave_up,       // nobody answered the dialog, or unlocked the phone, in time
  failed,        // lockdownd answered something pairing cannot go on from
  not_lockdown,  // lockdownd in another mode (restore): nothing to pair
};
// "paired", "waiting for Trust", ...: what `tether list` shows.
const char* to_string(pair_state s);

struct flow_options {
  std::chrono::seconds trust_wait{180};  // the dialog stays up on the phone this long at most
  std::chrono::seconds lock_wait{600};
  std::chrono::seconds answer_wait{10};  // for each answer from lockdownd
  std::string label = "tetherd";
};

// What the daemon does after each call.
struct flow_step {
  std::vector<std::byte> send;            // to lockdownd
  bool close = false;                     // done with this connection
  bool reconnect = false;                 // ... and open a new one at `wake`
  std::optional<clock::time_point> wake;  // call tick() then
  std::string save_record;                // a new pair record (XML plist) to store
  struct line {
    bool warning;
    std::string text;
  };
  std::vector<line> say;  // for the log, one event per line
};

class pairing_flow {
 public:
  // `record` is the stored pair record (XML or binary plist), or empty.
  pairing_flow(std::string udid, std::string system_buid, host_identity host,
               std::vector<std::byte> record, flow_options o = {});
  ~pairing_flow();

  flow_step connected(clock::time_point now);
  flow_step received(std::span<const std::byte> bytes, clock::time_point now);
  flow_step closed(clock::time_point now);  // the connection ended (not by us)
  flow_step tick(clock::time_point now);

  pair_state state() const { return state_; }
  // The state with its time and reason: "waiting for Trust (24 s)".
  std::string describe(clock::time_point now) const;
  bool finished() const;

 private:
  enum class step { query_type, start_session, stop_session, public_key, wifi, pair, idle };
  void ask(flow_step& out, proto::plist_ptr request, step next, clock::time_point now);
  void on_message(flow_step& out, plist_t m, clock::time_point now);
  void on_session(flow_step& out, plist_t m, clock::time_point now);
  void on_pair(flow_step& out, plist_t m, clock::time_point now);
  void begin_pairing(flow_step& out, clock::time_point now);
  void send_pair(flow_step& out, clock::time_point now);
  void finish(flow_step& out, pair_state s, bool warning, const std::string& text);
  bool enter_waiting(flow_step& out, pair_state s, clock::time_point now);
  void fail_stale(flow_step& out, const std::string& why, clock::time_point now);
  static void say(flow_step& out, bool warning, std::string text);
  proto::plist_ptr record_for_request() const;

  std::string udid_, buid_;
  host_identity host_;
  std::vector<std::byte> stored_;  // the record at the start (dropped when stale)
  flow_options o_;
  pair_state state_ = pair_state::checking;
  step step_ = step::idle;
  proto::lockdown::message_reader plain_, secure_;
  std::unique_ptr<tls_pipe> tls_;
  proto::plist_ptr record_;                    // the record being made
  std::optional<clock::time_point> deadline_;  // for the answer awaited
  std::optional<clock::time_point> retry_at_;
  clock::time_point started_, waiting_since_{};
  std::string asked_;   // the request whose answer is awaited
  std::string detail_;  // why it ended
  int tries_ = 0, reconnects_ = 0;
  bool connected_ = false;
};

}  // namespace tether::pairing
