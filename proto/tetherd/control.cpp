#include "proto/tetherd/control.hpp"

#include <algorithm>
#include <cctype>
#include <concepts>
#include <limits>
#include <type_traits>

#include "proto/plist_util.hpp"

namespace tether::proto::tetherd {
bool plain_name(const std::string& s) {
  return !s.empty() && s.size() <= max_name && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
           c == ':';
  });
}

bool plausible_udid(const std::string& s) {
  return s.size() <= max_name && std::all_of(s.begin(), s.end(), [](char c) {
           return std::isxdigit(static_cast<unsigned char>(c)) || c == '-';
         });
}

namespace {

class control_error_category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "tether.control"; }
  std::string message(int v) const override {
    switch (static_cast<control_errc>(v)) {
      case control_errc::bad_field: return "a field of the tetherd message has the wrong type";
      case control_errc::missing_field: return "a field the tetherd request needs is missing";
      case control_errc::unknown_request: return "unknown tetherd request";
    }
    return "unknown tetherd control error";
  }
};

using port = std::optional<std::uint16_t>;

// A port under `key`: absent is nullopt; present must be an integer in range.
base::result<port> port_item(plist_t dict, const char* key, bool zero_ok) {
  plist_t node = plist_dict_get_item(dict, key);
  if (node == nullptr) return port();
  const auto v = uint_item(dict, key);
  if (!v || *v > 65535 || (*v == 0 && !zero_ok))
    return {control_errc::bad_field,
            std::string(key) + " must be a port number (" + (zero_ok ? "0" : "1") + "-65535)"};
  return port(static_cast<std::uint16_t>(*v));
}

// An optional string under `key`, into `out`; a present value of another type is an error.
base::result<void> optional_string(plist_t dict, const char* key, std::string& out) {
  if (plist_dict_get_item(dict, key) == nullptr) return {};
  auto v = string_item(dict, key);
  if (!v || v->size() > 255)
    return {control_errc::bad_field,
            std::string(key) + " must be a string of at most 255 characters"};
  out = *v;
  return {};
}

void set_uint(plist_t d, const char* key, std::uint64_t v) {
  plist_dict_set_item(d, key, plist_new_uint(v));
}
void set_string(plist_t d, const char* key, const std::string& v) {
  plist_dict_set_item(d, key, plist_new_string(v.c_str()));
}

// Each reply's fields, written once: the daemon encodes with them and the CLI decodes
// with them, so the two cannot name a field differently. `v(key, member)` is called for
// every field, on a const object to encode and a mutable one to decode.
template <class F, class V>
void forward_fields(F& f, V&& v) {
  v("Name", f.spec.name);
  v("LocalAddress", f.spec.bind_address);
  v("LocalPort", f.bound_port);
  v("RequestedLocalPort", f.spec.local_port);
  v("PhonePort", f.spec.phone_port);
  v("UDID", f.spec.udid);
  v("State", f.state);
  v("LastError", f.last_error);
  v("ClientsActive", f.clients_active);
  v("ClientsTotal", f.clients_total);
  v("ConnectFailures", f.connect_failures);
  v("BytesToPhone", f.bytes_to_phone);
  v("BytesFromPhone", f.bytes_from_phone);
}

template <class R, class V>
void reverse_fields(R& r, V&& v) {
  v("Name", r.spec.name);
  v("PhonePort", r.spec.phone_port);
  v("LocalAddress", r.spec.local_address);
  v("LocalPort", r.spec.local_port);
  v("UDID", r.spec.udid);
  v("Spares", r.spec.spares);
  v("State", r.state);
  v("LastError", r.last_error);
  v("Phones", r.phones);
  v("SparesOpen", r.spares_open);
  v("InUse", r.in_use);
  v("Total", r.total);
  v("Refused", r.refused);
  v("LocalFailures", r.local_failures);
  v("BytesToPhone", r.bytes_to_phone);
  v("BytesFromPhone", r.bytes_from_phone);
}

// TetherReverseAdd's fields, as the CLI sends them and tetherd reads them.
template <class S, class V>
void reverse_add_fields(S& spec, V&& v) {
  v("Name", spec.name);
  v("PhonePort", spec.phone_port);
  v("LocalAddress", spec.local_address);
  v("LocalPort", spec.local_port);
  v("UDID", spec.udid);
  v("Spares", spec.spares);
}

template <class P, class V>
void phone_fields(P& p, V&& v) {
  v("DeviceID", p.device_id);
  v("UDID", p.udid);
  v("ProductID", p.product_id);
  v("ConnectionSpeed", p.speed_bps);
  v("Configuration", p.configuration);
  v("LocationID", p.location);
  v("SecondsAttached", p.seconds_attached);
  v("ConnectionsOpen", p.connections_open);
  v("ConnectionsTotal", p.connections_total);
  v("BytesToPhone", p.bytes_to_phone);
  v("BytesFromPhone", p.bytes_from_phone);
  v("PacketsToPhone", p.packets_to_phone);
  v("PacketsFromPhone", p.packets_from_phone);
  v("ProtocolErrors", p.protocol_errors);
  v("Pairing", p.pairing);
}

template <class C, class V>
void connection_fields(C& c, V&& v) {
  v("DeviceID", c.device_id);
  v("PhonePort", c.phone_port);
  v("Client", c.client);
  v("State", c.state);
  v("SecondsOpen", c.seconds_open);
  v("BytesToPhone", c.bytes_to_phone);
  v("BytesFromPhone", c.bytes_from_phone);
}

// TetherForwardAdd's fields, as the CLI sends them and tetherd reads them.
template <class S, class V>
void forward_add_fields(S& spec, V&& v) {
  v("LocalAddress", spec.bind_address);
  v("LocalPort", spec.local_port);
  v("PhonePort", spec.phone_port);
  v("UDID", spec.udid);
  v("Name", spec.name);
}

struct writer {
  plist_t dict;
  bool skip_empty = false;  // requests leave optional strings out
  void operator()(const char* key, const std::string& v) const {
    if (!skip_empty || !v.empty()) set_string(dict, key, v);
  }
  template <std::integral I>
  void operator()(const char* key, I v) const {
    if constexpr (std::is_signed_v<I>)
      set_uint(dict, key, static_cast<std::uint64_t>(std::max<I>(0, v)));
    else
      set_uint(dict, key, v);
  }
};

// A field that is absent keeps its default (a newer tetherd may add fields, an older
// one may lack some); one of the wrong type or out of range is an error.
struct reader {
  plist_t dict;
  const char* where;
  std::string& error;
  void operator()(const char* key, std::string& out) const {
    if (!error.empty() || plist_dict_get_item(dict, key) == nullptr) return;
    if (auto v = string_item(dict, key))
      out = *v;
    else
      error = std::string(where) + " " + key + " is not a string";
  }
  template <std::integral I>
  void operator()(const char* key, I& out) const {
    if (!error.empty() || plist_dict_get_item(dict, key) == nullptr) return;
    const auto v = uint_item(dict, key);
    if (v && *v <= static_cast<std::uint64_t>(std::numeric_limits<I>::max()))
      out = static_cast<I>(*v);
    else
      error = std::string(where) + " " + key + " is not a number of 0 to " +
              std::to_string(std::numeric_limits<I>::max());
  }
};

plist_t forward_dict(const forward_status& f) {
  plist_t d = plist_new_dict();
  forward_fields(f, writer{d});
  return d;
}

plist_t reverse_dict(const reverse_status& r) {
  plist_t d = plist_new_dict();
  reverse_fields(r, writer{d});
  return d;
}

template <class T, class Fields>
base::result<std::vector<T>> read_array(plist_t reply, const char* key, const char* where,
                                        Fields fields) {
  plist_t a = plist_dict_get_item(reply, key);
  if (a == nullptr || plist_get_node_type(a) != PLIST_ARRAY)
    return {control_errc::missing_field, std::string("the reply has no ") + key + " list"};
  std::vector<T> out(plist_array_get_size(a));
  std::string error;
  for (std::uint32_t i = 0; i < out.size() && error.empty(); ++i) {
    plist_t e = plist_array_get_item(a, i);
    if (plist_get_node_type(e) != PLIST_DICT)
      return {control_errc::bad_field, std::string(where) + " is not a dictionary"};
    fields(out[i], reader{e, where, error});
  }
  if (!error.empty()) return {control_errc::bad_field, error};
  return out;
}

}  // namespace

const std::error_category& control_category() noexcept {
  static const control_error_category c;
  return c;
}

bool is_control_message(const std::string& t) { return t.rfind("Tether", 0) == 0; }

base::result<request> decode(plist_t dict, const std::string& t) {
  if (t == "TetherForwardAdd") {
    requests::forward_add a;
    const auto phone = port_item(dict, "PhonePort", false);
    if (!phone) return {phone.error(), phone.detail()};
    if (!*phone)
      return {control_errc::missing_field,
              "PhonePort is missing: which port does the phone app listen on?"};
    a.spec.phone_port = **phone;
    const auto local = port_item(dict, "LocalPort", true);
    if (!local) return {local.error(), local.detail()};
    a.spec.local_port = local->value_or(0);
    // The strings, by the same field list the CLI encodes with.
    base::result<void> strings;
    forward_add_fields(a.spec, [&](const char* key, auto& field) {
      if constexpr (std::is_same_v<std::decay_t<decltype(field)>, std::string>)
        if (strings) strings = optional_string(dict, key, field);
    });
    if (!strings) return {strings.error(), strings.detail()};
    if (!a.spec.name.empty() && !plain_name(a.spec.name))
      return {control_errc::bad_field, "Name may hold letters, digits and - _ . : (at most 64)"};
    return request{a};
  }
  if (t == "TetherForwardRemove") {
    requests::forward_remove r;
    if (auto name = optional_string(dict, "Name", r.name); !name)
      return {name.error(), name.detail()};
    if (r.name.empty())
      return {control_errc::missing_field, "Name is missing: which forward to remove?"};
    return request{r};
  }
  if (t == "TetherForwardList") return request{requests::forward_list{}};
  if (t == "TetherStatus") return request{requests::status{}};
  if (t == "TetherSetLogLevel") {
    requests::set_log_level l;
    if (auto level = optional_string(dict, "Level", l.level); !level)
      return {level.error(), level.detail()};
    if (l.level != "error" && l.level != "warn" && l.level != "info" && l.level != "debug")
      return {control_errc::bad_field, "Level must be one of error, warn, info, debug"};
    return request{l};
  }
  if (t == "TetherReverseAdd") {
    requests::reverse_add a;
    const auto phone = port_item(dict, "PhonePort", false);
    if (!phone) return {phone.error(), phone.detail()};
    if (!*phone)
      return {control_errc::missing_field,
              "PhonePort is missing: which port does the phone app listen on?"};
    const auto local = port_item(dict, "LocalPort", false);
    if (!local) return {local.error(), local.detail()};
    if (!*local)
      return {control_errc::missing_field,
              "LocalPort is missing: which port does the board's service listen on?"};
    a.spec.phone_port = **phone;
    a.spec.local_port = **local;
    base::result<void> strings;
    reverse_add_fields(a.spec, [&](const char* key, auto& field) {
      if constexpr (std::is_same_v<std::decay_t<decltype(field)>, std::string>)
        if (strings) strings = optional_string(dict, key, field);
    });
    if (!strings) return {strings.error(), strings.detail()};
    if (plist_dict_get_item(dict, "Spares") != nullptr) {
      const auto n = uint_item(dict, "Spares");
      if (!n || *n < 1 || *n > max_reverse_spares)
        return {control_errc::bad_field,
                "Spares must be 1 to " + std::to_string(max_reverse_spares)};
      a.spec.spares = static_cast<std::uint32_t>(*n);
    }
    if (!a.spec.name.empty() && !plain_name(a.spec.name))
      return {control_errc::bad_field, "Name may hold letters, digits and - _ . : (at most 64)"};
    return request{a};
  }
  if (t == "TetherReverseRemove") {
    requests::reverse_remove r;
    if (auto name = optional_string(dict, "Name", r.name); !name)
      return {name.error(), name.detail()};
    if (r.name.empty())
      return {control_errc::missing_field, "Name is missing: which reverse to remove?"};
    return request{r};
  }
  if (t == "TetherReverseList") return request{requests::reverse_list{}};
  if (t == "TetherPair") {
    requests::pair r;
    if (auto udid = optional_string(dict, "UDID", r.udid); !udid)
      return {udid.error(), udid.detail()};
    return request{r};
  }
  return {control_errc::unknown_request, "unknown tetherd request '" + t.substr(0, 64) + "'"};
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

plist_t reverse_added_dict(const reverse_status& r) {
  plist_t d = result_dict(0);
  plist_dict_set_item(d, "Reverse", reverse_dict(r));
  return d;
}

plist_t reverse_list_dict(std::span<const reverse_status> reverses) {
  plist_t d = result_dict(0);
  plist_t a = plist_new_array();
  for (const auto& r : reverses) plist_array_append_item(a, reverse_dict(r));
  plist_dict_set_item(d, "Reverses", a);
  return d;
}

plist_t status_dict(std::span<const phone_status> phones,
                    std::span<const connection_status> connections,
                    std::span<const std::string> silent) {
  plist_t d = result_dict(0);
  plist_t ps = plist_new_array();
  for (const auto& p : phones) {
    plist_t e = plist_new_dict();
    phone_fields(p, writer{e});
    plist_array_append_item(ps, e);
  }
  plist_dict_set_item(d, "Phones", ps);
  plist_t cs = plist_new_array();
  for (const auto& c : connections) {
    plist_t e = plist_new_dict();
    connection_fields(c, writer{e});
    plist_array_append_item(cs, e);
  }
  plist_dict_set_item(d, "Connections", cs);
  plist_t ss = plist_new_array();
  for (const auto& udid : silent) plist_array_append_item(ss, plist_new_string(udid.c_str()));
  plist_dict_set_item(d, "Silent", ss);
  return d;
}

const char* message_type(const request& r) {
  return std::visit(
      [](const auto& q) -> const char* {
        using Q = std::decay_t<decltype(q)>;
        if constexpr (std::is_same_v<Q, requests::forward_add>) return "TetherForwardAdd";
        if constexpr (std::is_same_v<Q, requests::forward_remove>) return "TetherForwardRemove";
        if constexpr (std::is_same_v<Q, requests::forward_list>) return "TetherForwardList";
        if constexpr (std::is_same_v<Q, requests::status>) return "TetherStatus";
        if constexpr (std::is_same_v<Q, requests::set_log_level>) return "TetherSetLogLevel";
        if constexpr (std::is_same_v<Q, requests::pair>) return "TetherPair";
        if constexpr (std::is_same_v<Q, requests::reverse_add>) return "TetherReverseAdd";
        if constexpr (std::is_same_v<Q, requests::reverse_remove>) return "TetherReverseRemove";
        if constexpr (std::is_same_v<Q, requests::reverse_list>) return "TetherReverseList";
      },
      r);
}

plist_t encode(const request& r) {
  plist_t d = plist_new_dict();
  set_string(d, "MessageType", message_type(r));
  std::visit(
      [&](const auto& q) {
        using Q = std::decay_t<decltype(q)>;
        if constexpr (std::is_same_v<Q, requests::forward_add>)
          forward_add_fields(q.spec, writer{d, true});
        if constexpr (std::is_same_v<Q, requests::forward_remove>) set_string(d, "Name", q.name);
        if constexpr (std::is_same_v<Q, requests::set_log_level>) set_string(d, "Level", q.level);
        if constexpr (std::is_same_v<Q, requests::pair>)
          if (!q.udid.empty()) set_string(d, "UDID", q.udid);
        if constexpr (std::is_same_v<Q, requests::reverse_add>)
          reverse_add_fields(q.spec, writer{d, true});
        if constexpr (std::is_same_v<Q, requests::reverse_remove>) set_string(d, "Name", q.name);
      },
      r);
  return d;
}

base::result<forward_status> decode_forward_added(plist_t reply) {
  plist_t f = plist_dict_get_item(reply, "Forward");
  if (f == nullptr || plist_get_node_type(f) != PLIST_DICT)
    return {control_errc::missing_field, "the reply has no Forward"};
  forward_status out;
  std::string error;
  forward_fields(out, reader{f, "Forward", error});
  if (!error.empty()) return {control_errc::bad_field, error};
  return out;
}

base::result<std::vector<forward_status>> decode_forward_list(plist_t reply) {
  return read_array<forward_status>(reply, "Forwards", "a forward",
                                    [](auto& f, auto r) { forward_fields(f, r); });
}

base::result<reverse_status> decode_reverse_added(plist_t reply) {
  plist_t r = plist_dict_get_item(reply, "Reverse");
  if (r == nullptr || plist_get_node_type(r) != PLIST_DICT)
    return {control_errc::missing_field, "the reply has no Reverse"};
  reverse_status out;
  std::string error;
  reverse_fields(out, reader{r, "Reverse", error});
  if (!error.empty()) return {control_errc::bad_field, error};
  return out;
}

base::result<std::vector<reverse_status>> decode_reverse_list(plist_t reply) {
  return read_array<reverse_status>(reply, "Reverses", "a reverse",
                                    [](auto& r, auto f) { reverse_fields(r, f); });
}

base::result<status_report> decode_status(plist_t reply) {
  auto phones = read_array<phone_status>(reply, "Phones", "a phone",
                                         [](auto& p, auto r) { phone_fields(p, r); });
  if (!phones) return {phones.error(), phones.detail()};
  auto conns = read_array<connection_status>(reply, "Connections", "a connection",
                                             [](auto& c, auto r) { connection_fields(c, r); });
  if (!conns) return {conns.error(), conns.detail()};
  std::vector<std::string> silent;
  if (plist_t a = plist_dict_get_item(reply, "Silent"); a != nullptr) {  // tetherd before 15: none
    if (plist_get_node_type(a) != PLIST_ARRAY)
      return {control_errc::bad_field, "Silent is not a list"};
    for (std::uint32_t i = 0; i < plist_array_get_size(a); ++i) {
      plist_t e = plist_array_get_item(a, i);
      if (plist_get_node_type(e) != PLIST_STRING)
        return {control_errc::bad_field, "a Silent entry is not a string"};
      std::uint64_t len = 0;
      const char* text = plist_get_string_ptr(e, &len);
      silent.emplace_back(text, len);
    }
  }
  return status_report{std::move(phones).value(), std::move(conns).value(), std::move(silent)};
}

}  // namespace tether::proto::tetherd
