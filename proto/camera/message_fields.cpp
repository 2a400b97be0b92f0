#include "proto/camera/message_fields.hpp"

#include <algorithm>
#include <limits>
#include <type_traits>
#include <utility>

namespace tether::proto::camera::detail {

using namespace messages;

const std::array<frame_type, std::variant_size_v<message>> variant_types = {
    frame_type::hello,           frame_type::get_properties,   frame_type::properties,
    frame_type::set_property,    frame_type::property_set,     frame_type::capture,
    frame_type::autofocus,       frame_type::focus_step,       frame_type::start_live_view,
    frame_type::stop_live_view,  frame_type::download,         frame_type::ok,
    frame_type::error,           frame_type::property_changed, frame_type::capture_done,
    frame_type::camera_attached, frame_type::camera_lost,      frame_type::live_view_frame,
    frame_type::image_chunk,     frame_type::live_view_ack,    frame_type::live_view_stats,
};

bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == 0) return false;
    std::size_t n = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1Fu;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0Fu;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07u;
    } else {
      return false;
    }
    if (s.size() - i <= n) return false;
    for (std::size_t k = 1; k <= n; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3Fu);
    }
    constexpr std::uint32_t min_cp[] = {0, 0x80, 0x800, 0x10000};
    if (cp < min_cp[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n + 1;
  }
  return true;
}

namespace {

void set_string(plist_t d, const char* key, const std::string& v) {
  plist_dict_set_item(d, key, plist_new_string(v.c_str()));
}
void set_uint(plist_t d, const char* key, std::uint64_t v) {
  plist_dict_set_item(d, key, plist_new_uint(v));
}
void set_real(plist_t d, const char* key, double v) {
  plist_dict_set_item(d, key, plist_new_real(v));
}

// --- one field list per message ---------------------------------------------------------
// Each plist message names its fields once, in fields(); three visitors walk that list:
// `writer` fills a dictionary (encode), `reader` reads one (decode), and `checker`
// holds the values to the protocol's limits (validate, both ways). A new field is one
// line here.

struct text_rule {
  std::size_t max;
  bool nonempty = false;    // "" is refused
  bool required = true;     // decoding: absent is an error
  bool omit_empty = false;  // encoding: "" is left out
};
enum class zero { allowed, not_zero, at_least_one };
struct uint_rule {
  std::uint64_t max = UINT32_MAX;
  zero zero_rule = zero::allowed;
  bool required = true;
  bool omit_zero = false;  // encoding: 0 is left out (the default)
};

constexpr std::array role_names{std::pair{"camera", role::camera},
                                std::pair{"controller", role::controller}};
constexpr std::array direction_names{std::pair{"near", focus_direction::near},
                                     std::pair{"far", focus_direction::far}};
constexpr std::array size_names{std::pair{"small", focus_size::small},
                                std::pair{"medium", focus_size::medium},
                                std::pair{"large", focus_size::large}};

template <class V, class P>
void property_fields(V& v, P& p) {
  v.name("Name", p.name, true);
  v.text("Value", p.value, {max_value});
  v.list("Allowed", p.allowed, max_allowed, max_value, false);
  v.boolean("Writable", p.writable);
}

template <class V, class M>
void fields(V& v, M& m) {
  using T = std::remove_const_t<M>;
  if constexpr (std::is_same_v<T, hello>) {
    v.integer("Version", m.version, {.zero_rule = zero::at_least_one});
    v.choice("Role", m.sender, role_names);
    v.text("Name", m.name, {max_name});
    v.list("Capabilities", m.capabilities, max_capabilities, max_capability, true);
  } else if constexpr (std::is_same_v<T, get_properties>) {
    v.name("Name", m.name, false);
  } else if constexpr (std::is_same_v<T, properties>) {
    v.properties("Properties", m.items);
  } else if constexpr (std::is_same_v<T, set_property>) {
    v.name("Name", m.name, true);
    v.text("Value", m.value, {max_value});
  } else if constexpr (std::is_same_v<T, property_set>) {
    v.name("Name", m.name, true);
    v.text("Requested", m.requested, {max_value});
    v.text("Applied", m.applied, {max_value});
  } else if constexpr (std::is_same_v<T, focus_step>) {
    v.choice("Direction", m.direction, direction_names);
    v.choice("Size", m.size, size_names);
  } else if constexpr (std::is_same_v<T, start_live_view>) {
    v.integer("MaxInFlight", m.max_in_flight,
              {.max = max_in_flight, .required = false, .omit_zero = true});
  } else if constexpr (std::is_same_v<T, live_view_ack>) {
    v.integer("Sequence", m.sequence, {});
  } else if constexpr (std::is_same_v<T, live_view_stats>) {
    v.real("Fps", m.fps);
    v.real("CameraFps", m.camera_fps);
    v.real("MeanAgeMs", m.mean_age_ms);
    v.real("MaxAgeMs", m.max_age_ms);
    v.integer("Delivered", m.delivered, {.max = UINT64_MAX});
    v.integer("Dropped", m.dropped, {.max = UINT64_MAX});
  } else if constexpr (std::is_same_v<T, download>) {
    v.integer("TransferID", m.transfer_id, {.zero_rule = zero::not_zero});
    v.integer("Offset", m.offset, {.max = max_file_size, .required = false});
  } else if constexpr (std::is_same_v<T, error>) {
    v.code("Code", m.code);
    v.text("Message", m.message, {max_message});
  } else if constexpr (std::is_same_v<T, property_changed>) {
    property_fields(v, m.item);
  } else if constexpr (std::is_same_v<T, capture_done>) {
    v.integer("TransferID", m.transfer_id, {.zero_rule = zero::not_zero});
    v.file_name("FileName", m.file_name);
    v.integer("Size", m.size, {.max = max_file_size});
    v.text("MimeType", m.mime_type, {max_mime_type, true});
  } else if constexpr (std::is_same_v<T, camera_attached>) {
    v.text("Model", m.model, {max_model});
    v.text("Serial", m.serial, {max_model, false, false});
  } else if constexpr (std::is_same_v<T, camera_lost>) {
    v.text("Reason", m.reason, {max_message, false, false});
  }
  // capture, autofocus, stop_live_view, ok: no fields (an empty dictionary).
}

template <class E, std::size_t N>
const char* name_of(E value, const std::array<std::pair<const char*, E>, N>& names) {
  for (const auto& [name, v] : names)
    if (v == value) return name;
  return nullptr;
}

template <class E, std::size_t N>
std::string choices_text(const std::array<std::pair<const char*, E>, N>& names) {
  std::string list;
  for (std::size_t i = 0; i < N; ++i)
    list += std::string(i == 0 ? "" : i + 1 == N ? " or " : ", ") + "\"" + names[i].first + "\"";
  return list;
}

// The limits, for both directions. The first problem is kept.
struct limits {
  checker& c;
  void text(const char* key, const std::string& s, text_rule r) {
    c.text(key, s, r.max, r.nonempty);
  }
  void name(const char* key, const std::string& s, bool required) {
    if (required || !s.empty()) c.property_name(key, s);
  }
  void file_name(const char* key, const std::string& s) {
    c.text(key, s, max_file_name, true);
    if (s.find('/') != std::string::npos || s == "." || s == "..")
      c.fail(std::string(key) + " must be a plain file name, without '/'");
  }
  void list(const char* key, const std::vector<std::string>& l, std::size_t max_entries,
            std::size_t max_len, bool nonempty) {
    c.list(key, l, max_entries, max_len, nonempty);
  }
  template <class I>
  void integer(const char* key, I v, uint_rule r) {
    const auto u = static_cast<std::uint64_t>(v);
    if (u == 0 && r.zero_rule == zero::not_zero) c.fail(std::string(key) + " must not be 0");
    if (u == 0 && r.zero_rule == zero::at_least_one)
      c.fail(std::string(key) + " must be 1 or more");
    if (u > r.max)
      c.fail(std::string(key) + " is " + std::to_string(u) + ", more than " +
             std::to_string(r.max));
  }
  void code(const char* key, error_code v) {
    if (v == error_code{0}) c.fail(std::string(key) + " must not be 0");
  }
  void real(const char* key, double v) {
    if (!(v >= 0 && v <= 1e9)) c.fail(std::string(key) + " must be a number from 0 to 1e9");
  }
  void boolean(const char*, bool) {}
  template <class E, std::size_t N>
  void choice(const char* key, E v, const std::array<std::pair<const char*, E>, N>& names) {
    if (name_of(v, names) == nullptr) c.fail(std::string(key) + " must be " + choices_text(names));
  }
  void properties(const char* key, const std::vector<property>& items) {
    if (items.size() > max_properties) {
      c.fail(std::string(key) + " has " + std::to_string(items.size()) + " entries, more than " +
             std::to_string(max_properties));
      return;
    }
    for (std::size_t i = 0; i < items.size() && !c.error; ++i) {
      checker inner{c.where + ": " + key + "[" + std::to_string(i) + "]", {}};
      limits in{inner};
      property_fields(in, items[i]);
      c.error = inner.error;
    }
  }
};

struct writer {
  plist_t d;
  void text(const char* key, const std::string& s, text_rule r) {
    if (!(r.omit_empty && s.empty())) set_string(d, key, s);
  }
  void name(const char* key, const std::string& s, bool required) {
    if (required || !s.empty()) set_string(d, key, s);
  }
  void file_name(const char* key, const std::string& s) { set_string(d, key, s); }
  void list(const char* key, const std::vector<std::string>& l, std::size_t, std::size_t, bool) {
    plist_t a = plist_new_array();
    for (const auto& s : l) plist_array_append_item(a, plist_new_string(s.c_str()));
    plist_dict_set_item(d, key, a);
  }
  template <class I>
  void integer(const char* key, I v, uint_rule r) {
    if (!(r.omit_zero && v == 0)) set_uint(d, key, v);
  }
  void code(const char* key, error_code v) { set_uint(d, key, static_cast<std::uint32_t>(v)); }
  void real(const char* key, double v) { set_real(d, key, v); }
  void boolean(const char* key, bool v) { plist_dict_set_item(d, key, plist_new_bool(v ? 1 : 0)); }
  template <class E, std::size_t N>
  void choice(const char* key, E v, const std::array<std::pair<const char*, E>, N>& names) {
    set_string(d, key, name_of(v, names));
  }
  void properties(const char* key, const std::vector<property>& items) {
    plist_t a = plist_new_array();
    for (const auto& p : items) {
      plist_t e = plist_new_dict();
      writer w{e};
      property_fields(w, p);
      plist_array_append_item(a, e);
    }
    plist_dict_set_item(d, key, a);
  }
};

// Reads typed fields from a dictionary; the first problem is kept in `c`.
struct reader {
  plist_t dict;
  checker& c;

  plist_t item(const char* key, plist_type type, const char* type_text, bool required) {
    plist_t node = plist_dict_get_item(dict, key);
    if (node == nullptr) {
      if (required) c.fail(std::string(key) + " is missing");
      return nullptr;
    }
    if (plist_get_node_type(node) != type) {
      c.fail(std::string(key) + " must be " + type_text);
      return nullptr;
    }
    return node;
  }
  void str(const char* key, std::string& out, bool required) {
    plist_t node = item(key, PLIST_STRING, "a string", required);
    if (node == nullptr) return;
    std::uint64_t len = 0;
    const char* s = plist_get_string_ptr(node, &len);
    out.assign(s, static_cast<std::size_t>(len));
  }
  void text(const char* key, std::string& out, text_rule r) { str(key, out, r.required); }
  void name(const char* key, std::string& out, bool required) {
    str(key, out, required);
    // Optional names (get_properties): present means one property, so not empty.
    if (!required && plist_dict_get_item(dict, key) != nullptr && out.empty() && !c.error)
      c.fail(std::string(key) + " is empty (leave it out to get all properties)");
  }
  void file_name(const char* key, std::string& out) { str(key, out, true); }
  void list(const char* key, std::vector<std::string>& out, std::size_t max_entries, std::size_t,
            bool) {
    plist_t node = item(key, PLIST_ARRAY, "an array of strings", false);
    if (node == nullptr) return;
    const std::uint32_t n = plist_array_get_size(node);
    if (n > max_entries) {
      c.fail(std::string(key) + " has " + std::to_string(n) + " entries, more than " +
             std::to_string(max_entries));
      return;
    }
    for (std::uint32_t i = 0; i < n; ++i) {
      plist_t e = plist_array_get_item(node, i);
      if (plist_get_node_type(e) != PLIST_STRING) {
        c.fail(std::string(key) + "[" + std::to_string(i) + "] must be a string");
        return;
      }
      std::uint64_t len = 0;
      const char* s = plist_get_string_ptr(e, &len);
      out.emplace_back(s, static_cast<std::size_t>(len));
    }
  }
  template <class I>
  void integer(const char* key, I& out, uint_rule r) {
    plist_t node = item(key, PLIST_UINT, "an unsigned integer", r.required);
    if (node == nullptr) return;
    std::uint64_t v = 0;
    plist_get_uint_val(node, &v);
    // libplist reads negative 64-bit integers as PLIST_UINT; they come out huge here.
    const std::uint64_t max = std::min<std::uint64_t>(r.max, std::numeric_limits<I>::max());
    if (v > max) {
      c.fail(std::string(key) + " is " + std::to_string(v) + ", more than " + std::to_string(max));
      return;
    }
    out = static_cast<I>(v);
  }
  void code(const char* key, error_code& out) {
    std::uint32_t v = 0;
    integer(key, v, {});
    out = error_code{v};
  }
  // Integers are accepted too: a Swift Double of 30 may be written as the integer 30.
  void real(const char* key, double& out) {
    plist_t node = plist_dict_get_item(dict, key);
    if (node == nullptr) {
      c.fail(std::string(key) + " is missing");
      return;
    }
    if (plist_get_node_type(node) == PLIST_REAL) {
      plist_get_real_val(node, &out);
    } else if (plist_get_node_type(node) == PLIST_UINT) {
      std::uint64_t v = 0;
      plist_get_uint_val(node, &v);
      out = static_cast<double>(v);
    } else {
      c.fail(std::string(key) + " must be a number");
    }
  }
  void boolean(const char* key, bool& out) {
    plist_t node = item(key, PLIST_BOOLEAN, "a boolean", false);
    if (node == nullptr) return;
    std::uint8_t v = 0;
    plist_get_bool_val(node, &v);
    out = v != 0;
  }
  template <class E, std::size_t N>
  void choice(const char* key, E& out, const std::array<std::pair<const char*, E>, N>& names) {
    std::string s;
    str(key, s, true);
    if (c.error) return;
    for (const auto& [name, value] : names)
      if (s == name) {
        out = value;
        return;
      }
    c.fail(std::string(key) + " must be " + choices_text(names) + ", not \"" + s.substr(0, 32) +
           "\"");
  }
  void properties(const char* key, std::vector<property>& out) {
    plist_t a = item(key, PLIST_ARRAY, "an array of dictionaries", true);
    if (a == nullptr) return;
    const std::uint32_t n = plist_array_get_size(a);
    if (n > max_properties) {
      c.fail(std::string(key) + " has " + std::to_string(n) + " entries, more than " +
             std::to_string(max_properties));
      return;
    }
    for (std::uint32_t i = 0; i < n && !c.error; ++i) {
      plist_t e = plist_array_get_item(a, i);
      checker inner{c.where + ": " + key + "[" + std::to_string(i) + "]", {}};
      if (plist_get_node_type(e) != PLIST_DICT) {
        inner.fail("must be a dictionary");
      } else {
        property p;
        reader r{e, inner};
        property_fields(r, p);
        out.push_back(std::move(p));
      }
      c.error = inner.error;
    }
  }
};

}  // namespace

std::optional<message> read_plist_message(frame_type type, plist_t dict, checker& c) {
  std::optional<message> out;
  // Walks the alternatives once to find the one of this frame type.
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (([&] {
       using M = std::variant_alternative_t<I, message>;
       if (variant_types[I] != type || out) return;
       if constexpr (!std::is_same_v<M, live_view_frame> && !std::is_same_v<M, image_chunk>) {
         M m{};
         reader r{dict, c};
         fields(r, m);
         out = std::move(m);
       }
     }()),
     ...);
  }
  (std::make_index_sequence<std::variant_size_v<message>>{});
  return out;
}

template <class M>
constexpr bool is_binary = std::is_same_v<M, live_view_frame> || std::is_same_v<M, image_chunk>;

void write_plist_fields(const message& m, plist_t dict) {
  std::visit(
      [&](const auto& v) {
        if constexpr (!is_binary<std::decay_t<decltype(v)>>) {
          writer w{dict};
          fields(w, v);
        }
      },
      m);
}

void check_plist_fields(const message& m, checker& c) {
  std::visit(
      [&](const auto& v) {
        if constexpr (!is_binary<std::decay_t<decltype(v)>>) {
          limits l{c};
          fields(l, v);
        }
      },
      m);
}

}  // namespace tether::proto::camera::detail
