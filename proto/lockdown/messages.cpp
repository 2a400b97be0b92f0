#include "proto/lockdown/messages.hpp"

#include <cstring>

#include "base/byte_order.hpp"

namespace tether::proto::lockdown {

lockdown_error error_from_text(std::string_view text) {
  if (text.empty()) return lockdown_error::none;
  if (text == "PasswordProtected") return lockdown_error::password_protected;
  if (text == "UserDeniedPairing") return lockdown_error::user_denied_pairing;
  if (text == "PairingDialogResponsePending") return lockdown_error::dialog_pending;
  if (text == "InvalidHostID") return lockdown_error::invalid_host_id;
  return lockdown_error::other;
}

reply_error error_of(plist_t reply) {
  const auto text = reply ? string_item(reply, "Error") : std::optional<std::string>();
  if (!text) return {};
  return {error_from_text(*text), *text};
}

std::vector<std::byte> encode(plist_t message) {
  const std::string xml = to_xml(message);
  std::vector<std::byte> out(4 + xml.size());
  base::store_be32(out.data(), static_cast<std::uint32_t>(xml.size()));
  std::memcpy(out.data() + 4, xml.data(), xml.size());
  return out;
}

base::result<void> message_reader::feed(std::span<const std::byte> bytes) {
  if (error_) return {error_, error_text_};
  buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
  std::size_t at = 0;
  while (buffer_.size() - at >= 4) {
    const std::uint32_t len = base::load_be32(buffer_.data() + at);
    if (len > max_message || len == 0) {
      error_ = std::make_error_code(std::errc::message_size);
      error_text_ = "a lockdown message of " + std::to_string(len) + " bytes (the limit is " +
                    std::to_string(max_message) + "): not lockdown";
      buffer_.clear();
      return {error_, error_text_};
    }
    if (buffer_.size() - at - 4 < len) break;
    plist_t p = nullptr;
    plist_from_memory(reinterpret_cast<const char*>(buffer_.data() + at + 4), len, &p);
    if (p == nullptr || plist_get_node_type(p) != PLIST_DICT) {
      plist_free(p);
      error_ = std::make_error_code(std::errc::bad_message);
      error_text_ =
          "a lockdown message of " + std::to_string(len) + " bytes that is not a plist dictionary";
      buffer_.clear();
      return {error_, error_text_};
    }
    ready_.emplace_back(p);
    at += 4 + len;
  }
  buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(at));
  return {};
}

plist_ptr message_reader::next() {
  if (ready_.empty()) return nullptr;
  plist_ptr p = std::move(ready_.front());
  ready_.pop_front();
  return p;
}

plist_ptr request(const char* name, const std::string& label) {
  plist_ptr d(plist_new_dict());
  if (!label.empty()) plist_dict_set_item(d.get(), "Label", plist_new_string(label.c_str()));
  plist_dict_set_item(d.get(), "Request", plist_new_string(name));
  return d;
}

plist_ptr get_value(const std::string& label, const char* domain, const char* key) {
  plist_ptr d = request("GetValue", label);
  if (domain != nullptr) plist_dict_set_item(d.get(), "Domain", plist_new_string(domain));
  if (key != nullptr) plist_dict_set_item(d.get(), "Key", plist_new_string(key));
  return d;
}

}  // namespace tether::proto::lockdown
