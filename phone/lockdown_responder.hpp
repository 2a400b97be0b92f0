#pragma once
// The virtual lockdownd's pairing, with no I/O: phone_trust is what one phone knows
// across its connections and replugs (its device key, the hosts it trusts, the Trust
// dialog, the passcode lock); lockdown_responder is one connection on port 62078, bytes
// in and bytes out, plaintext or TLS after StartSession. The rules follow what real
// phones answered (../shared/research/real-phone.md §1.3, §5) and what libimobiledevice
// 1.3.0 and usbmuxd's preflight send.
#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "pairing/rsa_key.hpp"
#include "pairing/tls_pipe.hpp"
#include "proto/lockdown/messages.hpp"

namespace tether::sim {

struct lockdown_identity {
  std::string udid;
  std::string device_name = "tether virtual iPhone";
  std::string product_type = "iPhone14,2";
  std::string product_version = "17.0";
  std::string build_version = "21A329";
};

// A host the phone trusts: the certificates of the record it paired with.
struct trusted_host {
  std::string root_certificate;
  std::string host_certificate;
  std::string device_certificate;  // what the phone serves in this host's sessions
};

class phone_trust {
 public:
  using clock = std::chrono::steady_clock;
  enum class dialog { none, shown, accepted, denied };

  // `now` is the clock the dialog's timing reads (tests pass their own); `key_bits` the
  // size of the device key (2048, as phones have).
  explicit phone_trust(std::function<clock::time_point()> now = clock::now, int key_bits = 2048);

  // The phone's RSA key, made at first use (tens of milliseconds to seconds) and kept.
  base::result<pairing::rsa_key> device_key();

  // --- The user, from the control socket ---------------------------------------------
  // Trust / Don't Trust on the dialog. False, with `error` in words, when none is up.
  bool accept(std::string& error);
  bool deny(std::string& error);
  // Accept every future dialog once it has been up this long (0: at the first Pair,
  // with no dialog); nullopt: wait for the user.
  void set_auto_accept(std::optional<clock::duration> after) { auto_accept_ = after; }
  // Accepting makes the phone re-enumerate (the caller does it: it owns the bus).
  void set_reenumerate_on_accept(bool on) { reenumerate_on_accept_ = on; }
  bool reenumerate_on_accept() const { return reenumerate_on_accept_; }
  // "Reset Location & Privacy": every record stops validating (InvalidHostID).
  void forget_hosts() { hosts_.clear(); }
  // The screen locked with a passcode: Pair answers PasswordProtected.
  void set_passcode_locked(bool locked) { passcode_locked_ = locked; }
  bool passcode_locked() const { return passcode_locked_; }
  // The cable was pulled: an unanswered dialog goes away and "Don't Trust" is forgotten.
  void replugged();
  // The auto-accept policy applied now: true when it accepted a dialog just now.
  bool accept_if_due();
  dialog dialog_state() const { return dialog_; }
  std::size_t trusted_count() const { return hosts_.size(); }
  // One line: the dialog, the hosts, the lock, the policy.
  std::string status() const;

  // --- lockdownd ---------------------------------------------------------------------
  // A Pair from `host_id` whose record already checked out: the phone's error word
  // ("PairingDialogResponsePending", ...), or nullopt when the host is now trusted.
  std::optional<std::string> pair(const std::string& host_id, trusted_host host);
  const trusted_host* host(const std::string& host_id) const;

 private:
  bool answer(dialog to, std::string& error);  // Trust or Don't Trust on the dialog up

  std::function<clock::time_point()> now_;
  int key_bits_;
  std::optional<pairing::rsa_key> device_key_;
  std::map<std::string, trusted_host> hosts_;  // by HostID
  dialog dialog_ = dialog::none;
  clock::time_point shown_at_{};
  std::optional<clock::duration> auto_accept_;
  bool reenumerate_on_accept_ = false;
  bool passcode_locked_ = false;
};

class lockdown_responder {
 public:
  lockdown_responder(lockdown_identity id, std::shared_ptr<phone_trust> trust);

  // Bytes from the host. An error means the connection must be dropped (bad framing, a
  // failed handshake, a client certificate that is not the record's); it says why.
  base::result<void> feed(std::span<const std::byte> bytes);
  // Bytes for the host: answers, and TLS records once a session runs.
  std::vector<std::byte> take_output() { return std::exchange(out_, {}); }
  bool in_session() const { return tls_ != nullptr; }

 private:
  base::result<void> feed_plain(std::span<const std::byte> bytes);
  base::result<void> feed_tls(std::span<const std::byte> bytes);
  proto::plist_ptr answer(plist_t request);
  void answer_get_value(plist_t request, plist_t out);
  void answer_pair(plist_t request, plist_t out);
  void answer_start_session(plist_t request, plist_t out);
  proto::plist_ptr values(bool all);

  lockdown_identity id_;
  std::shared_ptr<phone_trust> trust_;
  proto::lockdown::message_reader plain_;
  proto::lockdown::message_reader inside_;  // the session's messages, inside TLS
  std::unique_ptr<pairing::tls_pipe> tls_;
  // Whose record the session runs under; set by StartSession's answer, after which TLS
  // starts with the next bytes.
  std::optional<trusted_host> session_host_;
  bool client_checked_ = false;
  std::vector<std::byte> out_;
};

}  // namespace tether::sim
