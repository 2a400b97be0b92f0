#include "proto/tetherd/control.hpp"

#include <algorithm>
#include <cctype>

#include "proto/plist_util.hpp"

namespace tether::proto::tetherd {
bool plain_name(const std::string& s) {
  return !s.empty() && s.size() <= max_name && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
           c == ':';
  });
}

namespace {

// A port under `key`: absent is nullopt with no error; present must be an integer
// in range.
std::optional<std::uint16_t> port_item(plist_t dict, const char* key, std::string& error,
                                       bool zero_ok) {
  plist_t node = plist_dict_get_item(dict, key);
  if (node == nullptr) return std::nullopt;
  const auto v = uint_item(dict, key);
  if (!v || *v > 65535 || (*v == 0 && !zero_ok)) {
    error = std::string(key) + " must be a port number (" + (zero_ok ? "0" : "1") + "-65535)";
    return std::nullopt;
  }
  return static_cast<std::uint16_t>(*v);
}

// An optional string under `key`; a present value of another type is an error.
bool optional_string(plist_t dict, const char* key, std::string& out, std::string& error) {
  if (plist_dict_get_item(dict, key) == nullptr) return true;
  auto v = string_item(dict, key);
  if (!v || v->size() > 255) {
    error = std::string(key) + " must be a string of at most 255 characters";
    return false;
  }
  out = *v;
  return true;
}

void set_uint(plist_t d, const char* key, std::uint64_t v) {
  plist_dict_set_item(d, key, plist_new_uint(v));
}
void set_string(plist_t d, const char* key, const std::string& v) {
  plist_dict_set_item(d, key, plist_new_string(v.c_str()));
}

plist_t forward_dict(const forward_status& f) {
  plist_t d = plist_new_dict();
  set_string(d, "Name", f.spec.name);
  set_string(d, "LocalAddress", f.spec.bind_address);
  set_uint(d, "LocalPort", f.bound_port);
  set_uint(d, "RequestedLocalPort", f.spec.local_port);
  set_uint(d, "PhonePort", f.spec.phone_port);
  set_string(d, "UDID", f.spec.udid);
  set_string(d, "State", f.state);
  set_string(d, "LastError", f.last_error);
  set_uint(d, "ClientsActive", f.clients_active);
  set_uint(d, "ClientsTotal", f.clients_total);
  set_uint(d, "ConnectFailures", f.connect_failures);
  set_uint(d, "BytesToPhone", f.bytes_to_phone);
  set_uint(d, "BytesFromPhone", f.bytes_from_phone);
  return d;
}

}  // namespace

bool is_control_message(const std::string& t) { return t.rfind("Tether", 0) == 0; }

std::variant<request, std::string> decode(plist_t dict, const std::string& t) {
  std::string error;
  if (t == "TetherForwardAdd") {
    requests::forward_add a;
    const auto phone = port_item(dict, "PhonePort", error, false);
    if (!error.empty()) return error;
    if (!phone)
      return std::string("PhonePort is missing: which port does the phone app listen on?");
    a.spec.phone_port = *phone;
    const auto local = port_item(dict, "LocalPort", error, true);
    if (!error.empty()) return error;
    a.spec.local_port = local.value_or(0);
    if (!optional_string(dict, "LocalAddress", a.spec.bind_address, error) ||
        !optional_string(dict, "UDID", a.spec.udid, error) ||
        !optional_string(dict, "Name", a.spec.name, error))
      return error;
    if (!a.spec.name.empty() && !plain_name(a.spec.name))
      return std::string("Name may hold letters, digits and - _ . : (at most 64)");
    return request{a};
  }
  if (t == "TetherForwardRemove") {
    requests::forward_remove r;
    if (!optional_string(dict, "Name", r.name, error)) return error;
    if (r.name.empty()) return std::string("Name is missing: which forward to remove?");
    return request{r};
  }
  if (t == "TetherForwardList") return request{requests::forward_list{}};
  if (t == "TetherStatus") return request{requests::status{}};
  if (t == "TetherSetLogLevel") {
    requests::set_log_level l;
    if (!optional_string(dict, "Level", l.level, error)) return error;
    if (l.level != "error" && l.level != "warn" && l.level != "info" && l.level != "debug")
      return std::string("Level must be one of error, warn, info, debug");
    return request{l};
  }
  return "unknown tetherd request '" + t.substr(0, 64) + "'";
}

plist_t result_dict(std::uint32_t number, const std::string& error) {
  plist_t d = plist_new_dict();
  set_string(d, "MessageType", "Result");
  set_uint(d, "Number", number);
  if (number != 0 && !error.empty()) set_string(d, "Error", error);
  return d;
}

plist_t forward_added_dict(const forward_status& f) {
  plist_t d = result_dict(0);
  plist_dict_set_item(d, "Forward", forward_dict(f));
  return d;
}

plist_t forward_list_dict(std::span<const forward_status> forwards) {
  plist_t d = result_dict(0);
  plist_t a = plist_new_array();
  for (const auto& f : forwards) plist_array_append_item(a, forward_dict(f));
  plist_dict_set_item(d, "Forwards", a);
  return d;
}

plist_t status_dict(std::span<const phone_status> phones,
                    std::span<const connection_status> connections) {
  plist_t d = result_dict(0);
  plist_t ps = plist_new_array();
  for (const auto& p : phones) {
    plist_t e = plist_new_dict();
    set_uint(e, "DeviceID", p.device_id);
    set_string(e, "UDID", p.udid);
    set_uint(e, "ProductID", p.product_id);
    set_uint(e, "ConnectionSpeed", p.speed_bps);
    set_uint(e, "Configuration", p.configuration);
    set_uint(e, "LocationID", p.location);
    set_uint(e, "SecondsAttached",
             static_cast<std::uint64_t>(std::max<std::int64_t>(0, p.seconds_attached)));
    set_uint(e, "ConnectionsOpen", p.connections_open);
    set_uint(e, "ConnectionsTotal", p.connections_total);
    set_uint(e, "BytesToPhone", p.bytes_to_phone);
    set_uint(e, "BytesFromPhone", p.bytes_from_phone);
    set_uint(e, "PacketsToPhone", p.packets_to_phone);
    set_uint(e, "PacketsFromPhone", p.packets_from_phone);
    set_uint(e, "ProtocolErrors", p.protocol_errors);
    plist_array_append_item(ps, e);
  }
  plist_dict_set_item(d, "Phones", ps);
  plist_t cs = plist_new_array();
  for (const auto& c : connections) {
    plist_t e = plist_new_dict();
    set_uint(e, "DeviceID", c.device_id);
    set_uint(e, "PhonePort", c.phone_port);
    set_string(e, "Client", c.client);
    set_string(e, "State", c.state);
    set_uint(e, "SecondsOpen",
             static_cast<std::uint64_t>(std::max<std::int64_t>(0, c.seconds_open)));
    set_uint(e, "BytesToPhone", c.bytes_to_phone);
    set_uint(e, "BytesFromPhone", c.bytes_from_phone);
    plist_array_append_item(cs, e);
  }
  plist_dict_set_item(d, "Connections", cs);
  return d;
}

}  // namespace tether::proto::tetherd
