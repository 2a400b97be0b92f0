#include "pairing/pairing_flow.hpp"

#include <cstdio>
#include <random>

#include "pairing/certificates.hpp"

namespace tether::pairing {
namespace {

using namespace std::chrono_literals;
using proto::plist_ptr;
using proto::string_item;
using proto::lockdown::lockdown_error;

constexpr const char* lockdown_type = "com.apple.mobile.lockdown";

std::string new_host_id() {
  std::random_device rd;
  unsigned char b[16];
  for (auto& c : b) c = static_cast<unsigned char>(rd());
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);  // RFC 4122 version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  char s[37];
  std::snprintf(s, sizeof s, "%02X%02X%02X%02X-%02X%02X-%02X%02X-%02X%02X-%02X%02X%02X%02X%02X%02X",
                b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
                b[13], b[14], b[15]);
  return s;
}

void set_data(plist_t d, const char* key, const std::string& v) {
  plist_dict_set_item(d, key, plist_new_data(v.data(), v.size()));
}

std::string data_item(plist_t d, const char* key) {
  plist_t n = d ? plist_dict_get_item(d, key) : nullptr;
  if (n == nullptr || plist_get_node_type(n) != PLIST_DATA) return {};
  std::uint64_t len = 0;
  const char* p = plist_get_data_ptr(n, &len);
  return std::string(p, len);
}

plist_ptr parse(std::span<const std::byte> bytes) {
  plist_t p = nullptr;
  if (!bytes.empty())
    plist_from_memory(reinterpret_cast<const char*>(bytes.data()),
                      static_cast<std::uint32_t>(bytes.size()), &p);
  if (p != nullptr && plist_get_node_type(p) != PLIST_DICT) {
    plist_free(p);
    p = nullptr;
  }
  return plist_ptr(p);
}

std::string seconds(clock::duration d) {
  char s[32];
  std::snprintf(s, sizeof s, "%.1f s", std::chrono::duration<double>(d).count());
  return s;
}

}  // namespace

const char* to_string(pair_state s) {
  switch (s) {
    case pair_state::checking: return "checking";
    case pair_state::waiting_for_trust: return "waiting for Trust";
    case pair_state::locked: return "locked: waits for the passcode";
    case pair_state::paired: return "paired";
    case pair_state::denied: return "not trusted (Don't Trust was tapped)";
    case pair_state::gave_up: return "not paired (nobody answered in time)";
    case pair_state::failed: return "not paired (failed)";
    case pair_state::not_lockdown: return "not in normal mode";
  }
  return "?";
}

pairing_flow::pairing_flow(std::string udid, std::string system_buid, host_identity host,
                           std::vector<std::byte> record, flow_options o)
    : udid_(std::move(udid)),
      buid_(std::move(system_buid)),
      host_(std::move(host)),
      stored_(std::move(record)),
      o_(std::move(o)) {}

pairing_flow::~pairing_flow() = default;

bool pairing_flow::finished() const {
  return state_ != pair_state::checking && state_ != pair_state::waiting_for_trust &&
         state_ != pair_state::locked;
}

std::string pairing_flow::describe(clock::time_point now) const {
  std::string s = to_string(state_);
  if (state_ == pair_state::waiting_for_trust || state_ == pair_state::locked)
    s += " (" +
         std::to_string(
             std::chrono::duration_cast<std::chrono::seconds>(now - waiting_since_).count()) +
         " s)";
  if (!detail_.empty() && (state_ == pair_state::failed || state_ == pair_state::not_lockdown))
    s += ": " + detail_;
  return s;
}

void pairing_flow::ask(flow_step& out, plist_ptr request, step next, clock::time_point now) {
  const auto bytes = proto::lockdown::encode(request.get());
  if (tls_) {
    (void)tls_->write(bytes);
    const auto wire = tls_->take_ciphertext();
    out.send.insert(out.send.end(), wire.begin(), wire.end());
  } else {
    out.send.insert(out.send.end(), bytes.begin(), bytes.end());
  }
  asked_ = string_item(request.get(), "Request").value_or("?");
  step_ = next;
  deadline_ = now + o_.answer_wait;
  out.wake = deadline_;
}

flow_step pairing_flow::connected(clock::time_point now) {
  flow_step out;
  connected_ = true;
  if (started_ == clock::time_point{}) started_ = now;
  ask(out, proto::lockdown::request("QueryType", o_.label), step::query_type, now);
  return out;
}

flow_step pairing_flow::received(std::span<const std::byte> bytes, clock::time_point now) {
  flow_step out;
  if (finished() || !connected_) return out;
  if (tls_) {
    if (auto fed = tls_->feed(bytes); !fed) {
      fail_stale(
          out, "the phone refused the TLS session with the stored record (" + fed.describe() + ")",
          now);
      return out;
    }
    const auto wire = tls_->take_ciphertext();
    out.send.insert(out.send.end(), wire.begin(), wire.end());
    const auto plain = tls_->take_plaintext();
    if (auto fed = secure_.feed(plain); !fed) {
      finish(out, pair_state::failed, true, "lockdownd sent " + fed.describe());
      return out;
    }
    while (auto m = secure_.next()) {
      on_message(out, m.get(), now);
      if (finished() || !tls_) break;
    }
    return out;
  }
  if (auto fed = plain_.feed(bytes); !fed) {
    finish(out, pair_state::failed, true, "lockdownd sent " + fed.describe());
    return out;
  }
  while (auto m = plain_.next()) {
    on_message(out, m.get(), now);
    if (finished() || tls_) break;  // TLS starts right after StartSession's answer
  }
  return out;
}

void pairing_flow::on_message(flow_step& out, plist_t m, clock::time_point now) {
  deadline_.reset();
  const auto err = proto::lockdown::error_of(m);
  switch (step_) {
    case step::query_type: {
      const std::string type = string_item(m, "Type").value_or("");
      if (type != lockdown_type)
        return finish(out, pair_state::not_lockdown, false,
                      "lockdownd answers QueryType with '" + type + "' (restore or recovery mode)");
      plist_ptr rec = parse(stored_);
      const auto host_id = rec ? string_item(rec.get(), "HostID") : std::nullopt;
      if (!host_id) return begin_pairing(out, now);
      plist_ptr req = proto::lockdown::request("StartSession", o_.label);
      plist_dict_set_item(req.get(), "HostID", plist_new_string(host_id->c_str()));
      const std::string buid = string_item(rec.get(), "SystemBUID").value_or(buid_);
      plist_dict_set_item(req.get(), "SystemBUID", plist_new_string(buid.c_str()));
      return ask(out, std::move(req), step::start_session, now);
    }
    case step::start_session: return on_session(out, m, now);
    case step::stop_session: {
      tls_->close();
      const auto wire = tls_->take_ciphertext();
      out.send.insert(out.send.end(), wire.begin(), wire.end());
      tls_.reset();
      return finish(
          out, pair_state::paired, false,
          "paired already: the phone accepted the stored record (" + seconds(now - started_) + ")");
    }
    case step::public_key: {
      const std::string pem = data_item(m, "Value");
      auto key = rsa_key::from_public_pem(pem);
      if (!key)
        return finish(out, pair_state::failed, true,
                      "lockdownd gave no usable DevicePublicKey (" +
                          (err.text.empty() ? key.describe() : err.text) + ")");
      auto cert = make_leaf_certificate(host_.root_key, host_.root_certificate, *key);
      if (!cert) return finish(out, pair_state::failed, true, cert.describe());
      record_.reset(plist_new_dict());
      set_data(record_.get(), "DeviceCertificate", *cert);
      set_data(record_.get(), "HostCertificate", host_.host_certificate);
      set_data(record_.get(), "HostPrivateKey", host_.host_key.private_pem());
      set_data(record_.get(), "RootCertificate", host_.root_certificate);
      set_data(record_.get(), "RootPrivateKey", host_.root_key.private_pem());
      plist_dict_set_item(record_.get(), "HostID", plist_new_string(new_host_id().c_str()));
      plist_dict_set_item(record_.get(), "SystemBUID", plist_new_string(buid_.c_str()));
      // Read before Pair: iOS 7 drops the connection when it is asked after.
      return ask(out, proto::lockdown::get_value(o_.label, nullptr, "WiFiAddress"), step::wifi,
                 now);
    }
    case step::wifi:
      if (const auto mac = string_item(m, "Value"))
        plist_dict_set_item(record_.get(), "WiFiMACAddress", plist_new_string(mac->c_str()));
      return send_pair(out, now);
    case step::pair: return on_pair(out, m, now);
    case step::idle: return;  // an answer nobody waits for
  }
}

void pairing_flow::on_session(flow_step& out, plist_t m, clock::time_point now) {
  const auto err = proto::lockdown::error_of(m);
  if (err.code == lockdown_error::invalid_host_id) {
    say(out, true,
        "the stored pair record is no longer valid (the phone answers InvalidHostID: it was "
        "erased, or its trust settings were reset): pairing again");
    stored_.clear();
    return begin_pairing(out, now);
  }
  if (err.code == lockdown_error::password_protected) {
    // A phone after a restart keeps its pairings locked until the first unlock.
    if (enter_waiting(out, pair_state::locked, now)) return;
    retry_at_ = now + 2s;
    step_ = step::idle;
    out.wake = retry_at_;
    return;
  }
  if (err.code != lockdown_error::none)
    return finish(out, pair_state::failed, true, "lockdownd refused StartSession: " + err.text);
  plist_ptr rec = parse(stored_);
  const std::string session = string_item(m, "SessionID").value_or("");
  plist_ptr stop = proto::lockdown::request("StopSession", o_.label);
  plist_dict_set_item(stop.get(), "SessionID", plist_new_string(session.c_str()));
  plist_t ssl = plist_dict_get_item(m, "EnableSessionSSL");
  std::uint8_t use_ssl = 0;
  if (ssl != nullptr && plist_get_node_type(ssl) == PLIST_BOOLEAN)
    plist_get_bool_val(ssl, &use_ssl);
  if (use_ssl != 0) {
    // The host shows the record's root certificate, as libimobiledevice does.
    auto pipe = tls_pipe::make(tls_pipe::role::client, {data_item(rec.get(), "RootCertificate"),
                                                        data_item(rec.get(), "RootPrivateKey")});
    if (!pipe)
      return fail_stale(out, "the stored record's root key is unusable (" + pipe.describe() + ")",
                        now);
    tls_ = std::move(*pipe);
  }
  ask(out, std::move(stop), step::stop_session, now);
}

void pairing_flow::begin_pairing(flow_step& out, clock::time_point now) {
  if (record_) return send_pair(out, now);  // the same host identity for every retry
  ask(out, proto::lockdown::get_value(o_.label, nullptr, "DevicePublicKey"), step::public_key, now);
}

proto::plist_ptr pairing_flow::record_for_request() const {
  plist_ptr r(plist_copy(record_.get()));
  for (const char* private_part :
       {"HostPrivateKey", "RootPrivateKey", "WiFiMACAddress", "EscrowBag"})
    plist_dict_remove_item(r.get(), private_part);
  return r;
}

void pairing_flow::send_pair(flow_step& out, clock::time_point now) {
  plist_ptr req = proto::lockdown::request("Pair", o_.label);
  plist_dict_set_item(req.get(), "PairRecord", record_for_request().release());
  plist_dict_set_item(req.get(), "ProtocolVersion", plist_new_string("2"));
  plist_t options = plist_new_dict();
  plist_dict_set_item(options, "ExtendedPairingErrors", plist_new_bool(1));
  plist_dict_set_item(req.get(), "PairingOptions", options);
  ++tries_;
  ask(out, std::move(req), step::pair, now);
}

// Says once that the phone waits for the user; true when the wait has run out (said).
bool pairing_flow::enter_waiting(flow_step& out, pair_state s, clock::time_point now) {
  if (state_ != s) {
    state_ = s;
    waiting_since_ = now;
    say(out, false,
        s == pair_state::locked
            ? "the phone is locked: pairing waits for its passcode to be entered (apps on it "
              "work meanwhile)"
            : "waiting for the user to tap Trust on the phone (apps on it work meanwhile)");
  }
  const auto bound = s == pair_state::locked ? o_.lock_wait : o_.trust_wait;
  if (now - waiting_since_ < bound) return false;
  finish(out, pair_state::gave_up, true,
         s == pair_state::locked
             ? "the phone stayed locked for " + seconds(now - waiting_since_) +
                   ": not pairing until it is replugged or `tether pair` is run"
             : "nobody answered the Trust dialog in " + seconds(now - waiting_since_) +
                   ": not asking again until the phone is replugged or `tether pair` is run");
  return true;
}

void pairing_flow::on_pair(flow_step& out, plist_t m, clock::time_point now) {
  const auto err = proto::lockdown::error_of(m);
  switch (err.code) {
    case lockdown_error::none: {
      const std::string bag = data_item(m, "EscrowBag");
      if (!bag.empty()) set_data(record_.get(), "EscrowBag", bag);
      out.save_record = proto::to_xml(record_.get());
      const bool asked = state_ == pair_state::waiting_for_trust;
      return finish(out, pair_state::paired, false,
                    std::string(asked ? "Trust tapped: " : "") + "paired in " +
                        seconds(now - started_) + "; the pair record is saved");
    }
    case lockdown_error::dialog_pending: {
      if (enter_waiting(out, pair_state::waiting_for_trust, now)) return;
      // 1 s apart at first (an immediate tap pairs at once), 3 s at most.
      const auto after = std::min<std::chrono::milliseconds>(3s, 1s * (1 + tries_ / 4));
      retry_at_ = now + after;
      step_ = step::idle;
      out.wake = retry_at_;
      return;
    }
    case lockdown_error::password_protected: {
      if (enter_waiting(out, pair_state::locked, now)) return;
      retry_at_ = now + 2s;
      step_ = step::idle;
      out.wake = retry_at_;
      return;
    }
    case lockdown_error::user_denied_pairing:
      return finish(out, pair_state::denied, true,
                    "the user tapped Don't Trust: not asking again until the phone is replugged "
                    "or `tether pair` is run");
    default: return finish(out, pair_state::failed, true, "lockdownd refused to pair: " + err.text);
  }
}

flow_step pairing_flow::tick(clock::time_point now) {
  flow_step out;
  if (finished()) return out;
  if (deadline_ && now >= *deadline_) {
    finish(out, pair_state::failed, true,
           "lockdownd did not answer " + asked_ + " within " +
               std::to_string(o_.answer_wait.count()) + " s");
    return out;
  }
  if (retry_at_ && now >= *retry_at_) {
    retry_at_.reset();
    if (!connected_) {
      out.reconnect = true;
      return out;
    }
    if (!stored_.empty() && state_ == pair_state::locked && !record_) {
      ask(out, proto::lockdown::request("QueryType", o_.label), step::query_type, now);
    } else {
      if (state_ == pair_state::locked) enter_waiting(out, state_, now);  // bound checked
      if (!finished()) send_pair(out, now);
    }
    return out;
  }
  out.wake = retry_at_ ? retry_at_ : deadline_;
  return out;
}

flow_step pairing_flow::closed(clock::time_point now) {
  flow_step out;
  connected_ = false;
  tls_.reset();
  plain_ = {};
  secure_ = {};
  deadline_.reset();
  if (finished()) return out;
  // Phones end an idle lockdown connection after about 30 s, and one whose user tapped
  // Trust may re-enumerate: open a new one and go on where it was.
  if (++reconnects_ > 20)
    return finish(out, pair_state::failed, true, "lockdownd keeps closing the connection"), out;
  retry_at_ = now + 1s;
  step_ = step::idle;
  out.wake = retry_at_;
  return out;
}

void pairing_flow::fail_stale(flow_step& out, const std::string& why, clock::time_point now) {
  say(out, true, why + ": pairing again");
  stored_.clear();
  tls_.reset();
  out.close = true;
  connected_ = false;
  retry_at_ = now + 500ms;
  step_ = step::idle;
  out.wake = retry_at_;
}

void pairing_flow::say(flow_step& out, bool warning, std::string text) {
  out.say.push_back({warning, std::move(text)});
}

void pairing_flow::finish(flow_step& out, pair_state s, bool warning, const std::string& text) {
  state_ = s;
  detail_ = text;
  say(out, warning, text);
  out.close = true;
  step_ = step::idle;
  deadline_.reset();
  retry_at_.reset();
  out.wake.reset();
}

}  // namespace tether::pairing
