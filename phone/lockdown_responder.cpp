#include "phone/lockdown_responder.hpp"

#include <cstdio>
#include <random>

#include "pairing/certificates.hpp"

namespace tether::sim {
namespace {

using proto::plist_ptr;

base::result<void> dropped(const std::string& why) {
  return {std::make_error_code(std::errc::protocol_error), why};
}

std::string string_item(plist_t dict, const char* key) {
  return proto::string_item(dict, key).value_or("");
}

// The PEM bytes of a pair record's certificate (plist data; some hosts send strings).
std::string pem_item(plist_t dict, const char* key) {
  plist_t node = plist_dict_get_item(dict, key);
  if (node != nullptr && plist_get_node_type(node) == PLIST_DATA) {
    char* data = nullptr;
    std::uint64_t len = 0;
    plist_get_data_val(node, &data, &len);
    std::string out(data != nullptr ? data : "", static_cast<std::size_t>(len));
    std::free(data);
    return out;
  }
  return string_item(dict, key);
}

plist_t data_node(const std::string& bytes) { return plist_new_data(bytes.data(), bytes.size()); }

std::string random_hex(std::size_t digits) {
  static std::mt19937_64 rng{std::random_device{}()};
  std::string out;
  while (out.size() < digits) {
    char part[17];
    std::snprintf(part, sizeof part, "%016llX", static_cast<unsigned long long>(rng()));
    out += part;
  }
  out.resize(digits);
  return out;
}

std::string uuid() {
  const std::string h = random_hex(32);
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
         "-" + h.substr(20);
}

// A MAC address of the phone, stable per UDID (hosts store WiFiAddress in the record).
std::string mac_for(const std::string& udid, unsigned salt) {
  unsigned h = 2166136261u ^ salt;
  for (const char c : udid) h = (h ^ static_cast<unsigned char>(c)) * 16777619u;
  char text[18];
  std::snprintf(text, sizeof text, "f0:99:b6:%02x:%02x:%02x", (h >> 16) & 0xff, (h >> 8) & 0xff,
                h & 0xff);
  return text;
}

}  // namespace

// --- phone_trust -------------------------------------------------------------------

phone_trust::phone_trust(std::function<clock::time_point()> now, int key_bits)
    : now_(std::move(now)), key_bits_(key_bits) {}

base::result<pairing::rsa_key> phone_trust::device_key() {
  if (!device_key_) {
    auto made = pairing::rsa_key::generate(key_bits_);
    if (!made) return {made.error(), "cannot make the phone's device key: " + made.describe()};
    device_key_ = std::move(*made);
  }
  return *device_key_;
}

bool phone_trust::accept(std::string& error) { return answer(dialog::accepted, error); }

bool phone_trust::deny(std::string& error) { return answer(dialog::denied, error); }

bool phone_trust::answer(dialog to, std::string& error) {
  if (dialog_ != dialog::shown) {
    error = "no Trust dialog is up on the phone (a host's Pair raises it)";
    return false;
  }
  dialog_ = to;
  return true;
}

void phone_trust::replugged() {
  if (dialog_ == dialog::shown || dialog_ == dialog::denied) dialog_ = dialog::none;
}

bool phone_trust::accept_if_due() {
  if (dialog_ != dialog::shown || !auto_accept_ || now_() - shown_at_ < *auto_accept_) return false;
  dialog_ = dialog::accepted;
  return true;
}

std::string phone_trust::status() const {
  std::string out;
  switch (dialog_) {
    case dialog::none: out = "no dialog"; break;
    case dialog::shown: {
      char up[64];
      std::snprintf(up, sizeof up, "dialog up for %.1f s",
                    std::chrono::duration<double>(now_() - shown_at_).count());
      out = up;
      break;
    }
    case dialog::accepted: out = "dialog accepted (the next Pair succeeds)"; break;
    case dialog::denied: out = "denied (until replugged)"; break;
  }
  out += ", " + std::to_string(hosts_.size()) +
         (hosts_.size() == 1 ? " host trusted" : " hosts trusted");
  out += passcode_locked_ ? ", locked with a passcode" : ", unlocked";
  if (auto_accept_) {
    out += ", auto-accept after " +
           std::to_string(std::chrono::duration_cast<std::chrono::seconds>(*auto_accept_).count()) +
           " s";
  }
  if (reenumerate_on_accept_) out += ", re-enumerates on Trust";
  return out;
}

std::optional<std::string> phone_trust::pair(const std::string& host_id, trusted_host host) {
  if (auto known = hosts_.find(host_id); known != hosts_.end()) {
    known->second = std::move(host);  // the same host again: no dialog
    return std::nullopt;
  }
  if (passcode_locked_) return "PasswordProtected";  // iOS 9+: no dialog until unlocked
  // With re-enumeration on, the control loop accepts (and re-enumerates) when the time
  // comes: a Pair must not take the acceptance without the phone leaving the bus.
  if (!reenumerate_on_accept_) accept_if_due();
  switch (dialog_) {
    case dialog::denied: return "UserDeniedPairing";
    case dialog::shown: return "PairingDialogResponsePending";
    case dialog::none:
      if (auto_accept_ && *auto_accept_ == clock::duration::zero()) break;  // no dialog
      dialog_ = dialog::shown;
      shown_at_ = now_();
      return "PairingDialogResponsePending";
    case dialog::accepted: break;
  }
  dialog_ = dialog::none;
  hosts_[host_id] = std::move(host);
  return std::nullopt;
}

const trusted_host* phone_trust::host(const std::string& host_id) const {
  const auto it = hosts_.find(host_id);
  return it == hosts_.end() ? nullptr : &it->second;
}

// --- lockdown_responder ------------------------------------------------------------

lockdown_responder::lockdown_responder(lockdown_identity id, std::shared_ptr<phone_trust> trust)
    : id_(std::move(id)), trust_(std::move(trust)) {}

base::result<void> lockdown_responder::feed(std::span<const std::byte> bytes) {
  return tls_ ? feed_tls(bytes) : feed_plain(bytes);
}

base::result<void> lockdown_responder::feed_plain(std::span<const std::byte> bytes) {
  if (auto ok = plain_.feed(bytes); !ok) return ok;
  while (plist_ptr request = plain_.next()) {
    plist_ptr reply = answer(request.get());
    const auto frame = proto::lockdown::encode(reply.get());
    out_.insert(out_.end(), frame.begin(), frame.end());
    if (!session_host_) continue;
    // StartSession was answered: the host's ClientHello comes next, on this connection.
    auto key = trust_->device_key();
    if (!key) return dropped(key.describe());
    auto pipe = pairing::tls_pipe::make(pairing::tls_pipe::role::server,
                                        {session_host_->device_certificate, key->private_pem()});
    if (!pipe) return dropped("cannot start the session's TLS: " + pipe.describe());
    tls_ = std::move(*pipe);
    client_checked_ = false;
    if (plain_.buffered() != 0 || plain_.next() != nullptr)
      return dropped("the host sent lockdown messages where TLS should start");
    return {};
  }
  return {};
}

base::result<void> lockdown_responder::feed_tls(std::span<const std::byte> bytes) {
  if (auto ok = tls_->feed(bytes); !ok)
    return dropped("the session's TLS failed: " + ok.describe());
  if (tls_->established() && !client_checked_) {
    // The host proves it holds the record's root key (libimobiledevice presents the
    // root certificate; other hosts the host certificate).
    auto presented = pairing::certificate_key(tls_->peer_certificate_pem());
    auto root = pairing::certificate_key(session_host_->root_certificate);
    auto host = pairing::certificate_key(session_host_->host_certificate);
    const bool matches = presented && ((root && presented->same_public_key(*root)) ||
                                       (host && presented->same_public_key(*host)));
    if (!matches)
      return dropped(
          "the host's TLS certificate is neither the root nor the host certificate of the "
          "record it started the session with");
    client_checked_ = true;
  }
  const auto plaintext = tls_->take_plaintext();
  if (auto ok = inside_.feed(plaintext); !ok) return ok;
  while (plist_ptr request = inside_.next()) {
    plist_ptr reply = answer(request.get());
    if (auto ok = tls_->write(proto::lockdown::encode(reply.get())); !ok)
      return dropped("the session's TLS failed: " + ok.describe());
  }
  auto sent = tls_->take_ciphertext();
  out_.insert(out_.end(), sent.begin(), sent.end());
  if (!tls_->peer_closed()) return {};
  // close_notify after StopSession: what follows is plain lockdown again.
  const auto rest = tls_->take_after_close();
  tls_.reset();
  session_host_.reset();
  inside_ = {};
  return feed_plain(rest);
}

plist_ptr lockdown_responder::values(bool all) {
  plist_ptr d(plist_new_dict());
  auto set = [&](const char* k, const std::string& v) {
    plist_dict_set_item(d.get(), k, plist_new_string(v.c_str()));
  };
  set("DeviceName", id_.device_name);
  set("DeviceClass", "iPhone");
  set("ProductType", id_.product_type);
  set("ProductVersion", id_.product_version);
  set("BuildVersion", id_.build_version);
  set("UniqueDeviceID", id_.udid);
  set("CPUArchitecture", "arm64e");
  set("HardwareModel", "D63AP");
  if (!all) return d;
  // What a paired host reads inside a session.
  const std::string tail = id_.udid.size() >= 8 ? id_.udid.substr(id_.udid.size() - 8) : id_.udid;
  set("SerialNumber", "F2L" + tail + "Q");
  set("ActivationState", "Activated");
  set("ProductName", "iPhone OS");
  set("TimeZone", "Europe/Berlin");
  set("WiFiAddress", mac_for(id_.udid, 0));
  set("BluetoothAddress", mac_for(id_.udid, 1));
  plist_dict_set_item(d.get(), "PasswordProtected", plist_new_bool(trust_->passcode_locked()));
  if (auto key = trust_->device_key())
    plist_dict_set_item(d.get(), "DevicePublicKey", data_node(key->public_pem()));
  return d;
}

void lockdown_responder::answer_get_value(plist_t request, plist_t out) {
  const std::string key = string_item(request, "Key");
  if (!string_item(request, "Domain").empty()) {
    // Domains hold what only a paired host may read.
    plist_dict_set_item(out, "Error", plist_new_string(tls_ ? "MissingValue" : "InvalidHostID"));
    return;
  }
  if (key.empty()) {
    plist_dict_set_item(out, "Value", values(tls_ != nullptr).release());
    return;
  }
  plist_dict_set_item(out, "Key", plist_new_string(key.c_str()));
  // What hosts read before pairing (libimobiledevice's lockdownd_pair) is open to all.
  plist_ptr all = values(tls_ != nullptr || key == "DevicePublicKey" || key == "WiFiAddress");
  if (plist_t v = plist_dict_get_item(all.get(), key.c_str()))
    plist_dict_set_item(out, "Value", plist_copy(v));
  else
    plist_dict_set_item(out, "Error", plist_new_string("MissingValue"));
}

void lockdown_responder::answer_pair(plist_t request, plist_t out) {
  auto error = [out](const char* word) {
    plist_dict_set_item(out, "Error", plist_new_string(word));
  };
  plist_t record = plist_dict_get_item(request, "PairRecord");
  if (record == nullptr || plist_get_node_type(record) != PLIST_DICT)
    return error("MissingPairRecord");
  const std::string host_id = string_item(record, "HostID");
  const std::string buid = string_item(record, "SystemBUID");
  if (host_id.empty()) return error("MissingHostID");
  trusted_host host{pem_item(record, "RootCertificate"), pem_item(record, "HostCertificate"),
                    pem_item(record, "DeviceCertificate")};
  // The record must be for this phone (its key) and chain to the root it carries.
  auto key = trust_->device_key();
  auto certified = pairing::certificate_key(host.device_certificate);
  if (buid.empty() || !key || !certified || !certified->same_public_key(*key) ||
      !pairing::signed_by(host.device_certificate, host.root_certificate) ||
      !pairing::certificate_key(host.host_certificate))
    return error("InvalidPairRecord");
  if (auto refused = trust_->pair(host_id, std::move(host))) return error(refused->c_str());
  plist_dict_set_item(out, "EscrowBag", data_node(random_hex(64)));
}

void lockdown_responder::answer_start_session(plist_t request, plist_t out) {
  if (tls_ != nullptr) {
    plist_dict_set_item(out, "Error", plist_new_string("SessionActive"));
    return;
  }
  const trusted_host* host = trust_->host(string_item(request, "HostID"));
  if (host == nullptr) {
    plist_dict_set_item(out, "Error", plist_new_string("InvalidHostID"));
    return;
  }
  session_host_ = *host;
  plist_dict_set_item(out, "SessionID", plist_new_string(uuid().c_str()));
  plist_dict_set_item(out, "EnableSessionSSL", plist_new_bool(1));
}

plist_ptr lockdown_responder::answer(plist_t request) {
  plist_ptr out(plist_new_dict());
  const std::string what = string_item(request, "Request");
  plist_dict_set_item(out.get(), "Request", plist_new_string(what.c_str()));
  if (what == "QueryType") {
    plist_dict_set_item(out.get(), "Type", plist_new_string("com.apple.mobile.lockdown"));
  } else if (what == "GetValue") {
    answer_get_value(request, out.get());
  } else if (what == "Pair") {
    answer_pair(request, out.get());
  } else if (what == "StartSession") {
    answer_start_session(request, out.get());
  } else if (what == "StopSession" && tls_ != nullptr) {
    // Answered inside TLS; the host's close_notify follows.
  } else if (what == "StopSession") {
    plist_dict_set_item(out.get(), "Error", plist_new_string("SessionInactive"));
  } else {
    plist_dict_set_item(out.get(), "Error", plist_new_string("UnsupportedRequest"));
  }
  return out;
}

}  // namespace tether::sim
