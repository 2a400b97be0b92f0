#include "proto/camera/messages.hpp"

#include "base/byte_order.hpp"

#include <plist/plist.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <stdexcept>
#include <type_traits>

#include "proto/plist_util.hpp"

namespace tether::proto::camera {
namespace {

using namespace messages;

// The frame type of each alternative of `message`, in its order.
constexpr std::array<frame_type, std::variant_size_v<message>> variant_types = {
    frame_type::hello,           frame_type::get_properties,   frame_type::properties,
    frame_type::set_property,    frame_type::property_set,     frame_type::capture,
    frame_type::autofocus,       frame_type::focus_step,       frame_type::start_live_view,
    frame_type::stop_live_view,  frame_type::download,         frame_type::ok,
    frame_type::error,           frame_type::property_changed, frame_type::capture_done,
    frame_type::camera_attached, frame_type::camera_lost,      frame_type::live_view_frame,
    frame_type::image_chunk,     frame_type::live_view_ack,    frame_type::live_view_stats,
};

constexpr std::string_view bplist_magic = "bplist00";

// --- validation -----------------------------------------------------------------------

// Well-formed UTF-8 without NUL (plist strings cannot carry one).
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

struct checker {
  std::string where;  // "hello", "properties: Properties[2]"
  std::optional<decode_error> error;

  void fail(std::string text) {
    if (!error) error = decode_error{error_code::bad_request, where + ": " + std::move(text)};
  }
  void text(const char* key, const std::string& s, std::size_t max, bool nonempty = false) {
    if (s.size() > max)
      fail(std::string(key) + " is " + std::to_string(s.size()) + " bytes, more than " +
           std::to_string(max));
    else if (nonempty && s.empty())
      fail(std::string(key) + " is empty");
    else if (!valid_utf8(s))
      fail(std::string(key) + " is not UTF-8 text (or holds a NUL)");
  }
  void list(const char* key, const std::vector<std::string>& l, std::size_t max_entries,
            std::size_t max_len, bool nonempty) {
    if (l.size() > max_entries) {
      fail(std::string(key) + " has " + std::to_string(l.size()) + " entries, more than " +
           std::to_string(max_entries));
      return;
    }
    for (std::size_t i = 0; i < l.size(); ++i)
      text((std::string(key) + "[" + std::to_string(i) + "]").c_str(), l[i], max_len, nonempty);
  }
  void property_name(const char* key, const std::string& s) {
    text(key, s, max_property_name, true);
    if (!std::all_of(s.begin(), s.end(), [](char c) {
          return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
        }))
      fail(std::string(key) + " '" + s.substr(0, max_property_name) +
           "' may hold only a-z, 0-9 and _");
  }
  void prop(const property& p) {
    property_name("Name", p.name);
    text("Value", p.value, max_value);
    list("Allowed", p.allowed, max_allowed, max_value, false);
  }
  void blob(const char* what, std::size_t size, std::size_t max) {
    if (size > max)
      fail(std::string(what) + " is " + std::to_string(size) + " bytes, more than " +
           std::to_string(max));
  }
};

void check(checker& c, const hello& m) {
  if (m.version == 0) c.fail("Version must be 1 or more");
  c.text("Name", m.name, max_name);
  c.list("Capabilities", m.capabilities, max_capabilities, max_capability, true);
}
void check(checker& c, const get_properties& m) {
  if (!m.name.empty()) c.property_name("Name", m.name);
}
void check(checker& c, const properties& m) {
  if (m.items.size() > max_properties) {
    c.fail("Properties has " + std::to_string(m.items.size()) + " entries, more than " +
           std::to_string(max_properties));
    return;
  }
  for (std::size_t i = 0; i < m.items.size() && !c.error; ++i) {
    checker inner{c.where + ": Properties[" + std::to_string(i) + "]", {}};
    inner.prop(m.items[i]);
    c.error = inner.error;
  }
}
void check(checker& c, const set_property& m) {
  c.property_name("Name", m.name);
  c.text("Value", m.value, max_value);
}
void check(checker& c, const property_set& m) {
  c.property_name("Name", m.name);
  c.text("Requested", m.requested, max_value);
  c.text("Applied", m.applied, max_value);
}
void check(checker& c, const focus_step& m) {
  if (m.direction != focus_direction::near && m.direction != focus_direction::far)
    c.fail("Direction must be \"near\" or \"far\"");
  if (m.size != focus_size::small && m.size != focus_size::medium && m.size != focus_size::large)
    c.fail("Size must be \"small\", \"medium\" or \"large\"");
}
void check(checker& c, const download& m) {
  if (m.transfer_id == 0) c.fail("TransferID must not be 0");
  if (m.offset > max_file_size)
    c.fail("Offset " + std::to_string(m.offset) + " is past the largest file size");
}
void check(checker& c, const error& m) {
  if (m.code == error_code{0}) c.fail("Code must not be 0");
  c.text("Message", m.message, max_message);
}
void check(checker& c, const property_changed& m) { c.prop(m.item); }
void check(checker& c, const capture_done& m) {
  if (m.transfer_id == 0) c.fail("TransferID must not be 0");
  c.text("FileName", m.file_name, max_file_name, true);
  if (m.file_name.find('/') != std::string::npos || m.file_name == "." || m.file_name == "..")
    c.fail("FileName must be a plain file name, without '/'");
  if (m.size > max_file_size)
    c.fail("Size " + std::to_string(m.size) + " is more than " + std::to_string(max_file_size));
  c.text("MimeType", m.mime_type, max_mime_type, true);
}
void check(checker& c, const camera_attached& m) {
  c.text("Model", m.model, max_model);
  c.text("Serial", m.serial, max_model);
}
void check(checker& c, const camera_lost& m) { c.text("Reason", m.reason, max_message); }
void check(checker& c, const start_live_view& m) {
  if (m.max_in_flight > max_in_flight)
    c.fail("MaxInFlight is " + std::to_string(m.max_in_flight) + ", more than " +
           std::to_string(max_in_flight));
}
void check(checker& c, const live_view_stats& m) {
  for (const auto& [key, v] :
       {std::pair{"Fps", m.fps}, std::pair{"CameraFps", m.camera_fps},
        std::pair{"MeanAgeMs", m.mean_age_ms}, std::pair{"MaxAgeMs", m.max_age_ms}})
    if (!(v >= 0 && v <= 1e9)) c.fail(std::string(key) + " must be a number from 0 to 1e9");
}

void check_live_view(checker& c, std::uint16_t width, std::uint16_t height,
                     std::span<const std::byte> jpeg) {
  if (width == 0 || height == 0) c.fail("width and height must not be 0");
  c.blob("JPEG", jpeg.size(), max_jpeg);
  if (jpeg.size() < 2 || jpeg[0] != std::byte{0xFF} || jpeg[1] != std::byte{0xD8})
    c.fail("JPEG does not start with FF D8");
}
void check(checker& c, const live_view_frame& m) { check_live_view(c, m.width, m.height, m.jpeg); }

void check_chunk(checker& c, std::uint32_t transfer_id, std::uint64_t offset,
                 std::uint64_t total_size, std::size_t size) {
  if (transfer_id == 0) c.fail("transfer id must not be 0");
  c.blob("chunk data", size, max_chunk);
  if (total_size > max_file_size)
    c.fail("total size " + std::to_string(total_size) + " is more than " +
           std::to_string(max_file_size));
  else if (offset > total_size || size > total_size - offset)
    c.fail("chunk of " + std::to_string(size) + " bytes at offset " + std::to_string(offset) +
           " runs past the total size " + std::to_string(total_size));
  else if (size == 0 && total_size != 0)
    c.fail("chunk is empty (only an empty file has an empty chunk)");
}
void check(checker& c, const image_chunk& m) {
  check_chunk(c, m.transfer_id, m.offset, m.total_size, m.data.size());
}
template <class T>
void check(checker&, const T&) {}  // messages without fields

// --- encoding -------------------------------------------------------------------------

void set_string(plist_t d, const char* key, const std::string& v) {
  plist_dict_set_item(d, key, plist_new_string(v.c_str()));
}
void set_uint(plist_t d, const char* key, std::uint64_t v) {
  plist_dict_set_item(d, key, plist_new_uint(v));
}
void set_real(plist_t d, const char* key, double v) {
  plist_dict_set_item(d, key, plist_new_real(v));
}
void set_list(plist_t d, const char* key, const std::vector<std::string>& l) {
  plist_t a = plist_new_array();
  for (const auto& s : l) plist_array_append_item(a, plist_new_string(s.c_str()));
  plist_dict_set_item(d, key, a);
}
void fill_property(plist_t d, const property& p) {
  set_string(d, "Name", p.name);
  set_string(d, "Value", p.value);
  set_list(d, "Allowed", p.allowed);
  plist_dict_set_item(d, "Writable", plist_new_bool(p.writable ? 1 : 0));
}
plist_t property_dict(const property& p) {
  plist_t d = plist_new_dict();
  fill_property(d, p);
  return d;
}

const char* role_name(role r) { return r == role::camera ? "camera" : "controller"; }
const char* direction_name(focus_direction d) {
  return d == focus_direction::near ? "near" : "far";
}
const char* size_name(focus_size s) {
  return s == focus_size::small ? "small" : s == focus_size::medium ? "medium" : "large";
}

void fill(plist_t d, const hello& m) {
  set_uint(d, "Version", m.version);
  set_string(d, "Role", role_name(m.sender));
  set_string(d, "Name", m.name);
  set_list(d, "Capabilities", m.capabilities);
}
void fill(plist_t d, const get_properties& m) {
  if (!m.name.empty()) set_string(d, "Name", m.name);
}
void fill(plist_t d, const properties& m) {
  plist_t a = plist_new_array();
  for (const auto& p : m.items) plist_array_append_item(a, property_dict(p));
  plist_dict_set_item(d, "Properties", a);
}
void fill(plist_t d, const set_property& m) {
  set_string(d, "Name", m.name);
  set_string(d, "Value", m.value);
}
void fill(plist_t d, const property_set& m) {
  set_string(d, "Name", m.name);
  set_string(d, "Requested", m.requested);
  set_string(d, "Applied", m.applied);
}
void fill(plist_t d, const focus_step& m) {
  set_string(d, "Direction", direction_name(m.direction));
  set_string(d, "Size", size_name(m.size));
}
void fill(plist_t d, const download& m) {
  set_uint(d, "TransferID", m.transfer_id);
  set_uint(d, "Offset", m.offset);
}
void fill(plist_t d, const error& m) {
  set_uint(d, "Code", static_cast<std::uint32_t>(m.code));
  set_string(d, "Message", m.message);
}
void fill(plist_t d, const property_changed& m) { fill_property(d, m.item); }
void fill(plist_t d, const capture_done& m) {
  set_uint(d, "TransferID", m.transfer_id);
  set_string(d, "FileName", m.file_name);
  set_uint(d, "Size", m.size);
  set_string(d, "MimeType", m.mime_type);
}
void fill(plist_t d, const camera_attached& m) {
  set_string(d, "Model", m.model);
  set_string(d, "Serial", m.serial);
}
void fill(plist_t d, const camera_lost& m) { set_string(d, "Reason", m.reason); }
void fill(plist_t d, const start_live_view& m) {
  if (m.max_in_flight != 0) set_uint(d, "MaxInFlight", m.max_in_flight);
}
void fill(plist_t d, const live_view_ack& m) { set_uint(d, "Sequence", m.sequence); }
void fill(plist_t d, const live_view_stats& m) {
  set_real(d, "Fps", m.fps);
  set_real(d, "CameraFps", m.camera_fps);
  set_real(d, "MeanAgeMs", m.mean_age_ms);
  set_real(d, "MaxAgeMs", m.max_age_ms);
  set_uint(d, "Delivered", m.delivered);
  set_uint(d, "Dropped", m.dropped);
}
template <class T>
void fill(plist_t, const T&) {}  // messages without fields: an empty dictionary

std::vector<std::byte> plist_frame(frame_type type, std::uint32_t tag, plist_t dict) {
  char* bin = nullptr;
  std::uint32_t len = 0;
  plist_to_bin(dict, &bin, &len);
  plist_free(dict);
  if (bin == nullptr) throw std::runtime_error("libplist could not write a binary plist");
  auto out = peertalk::encode_frame(static_cast<std::uint32_t>(type), tag,
                                    std::as_bytes(std::span(bin, len)));
  plist_to_bin_free(bin);
  return out;
}

void throw_if_invalid(const message& m) {
  if (auto e = validate(m)) throw std::invalid_argument(e->text);
}

// --- decoding -------------------------------------------------------------------------

// Reads typed fields from a dictionary; the first problem is kept in `c`.
struct fields {
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
  void str(const char* key, std::string& out, bool required = true) {
    plist_t node = item(key, PLIST_STRING, "a string", required);
    if (node == nullptr) return;
    std::uint64_t len = 0;
    const char* s = plist_get_string_ptr(node, &len);
    out.assign(s, static_cast<std::size_t>(len));
  }
  void uint(const char* key, std::uint64_t& out, std::uint64_t max, bool required = true) {
    plist_t node = item(key, PLIST_UINT, "an unsigned integer", required);
    if (node == nullptr) return;
    std::uint64_t v = 0;
    plist_get_uint_val(node, &v);
    // libplist reads negative 64-bit integers as PLIST_UINT; they come out huge here.
    if (v > max) {
      c.fail(std::string(key) + " is " + std::to_string(v) + ", more than " + std::to_string(max));
      return;
    }
    out = v;
  }
  void u32(const char* key, std::uint32_t& out, bool required = true) {
    std::uint64_t v = out;
    uint(key, v, UINT32_MAX, required);
    out = static_cast<std::uint32_t>(v);
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
  void str_list(const char* key, std::vector<std::string>& out, std::size_t max_entries) {
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
  template <class E, std::size_t N>
  void choice(const char* key, E& out, const std::array<std::pair<const char*, E>, N>& names) {
    std::string s;
    str(key, s);
    if (c.error) return;
    for (const auto& [name, value] : names)
      if (s == name) {
        out = value;
        return;
      }
    std::string list;
    for (std::size_t i = 0; i < N; ++i)
      list += std::string(i == 0 ? "" : i + 1 == N ? " or " : ", ") + "\"" + names[i].first + "\"";
    c.fail(std::string(key) + " must be " + list + ", not \"" + s.substr(0, 32) + "\"");
  }
};

property read_property(plist_t dict, checker& c) {
  property p;
  fields f{dict, c};
  f.str("Name", p.name);
  f.str("Value", p.value);
  f.str_list("Allowed", p.allowed, max_allowed);
  f.boolean("Writable", p.writable);
  return p;
}

std::optional<message> read_plist_message(frame_type type, plist_t dict, checker& c) {
  fields f{dict, c};
  switch (type) {
    case frame_type::hello: {
      hello m;
      f.u32("Version", m.version);
      f.choice(
          "Role", m.sender,
          std::array{std::pair{"camera", role::camera}, std::pair{"controller", role::controller}});
      f.str("Name", m.name);
      f.str_list("Capabilities", m.capabilities, max_capabilities);
      return m;
    }
    case frame_type::get_properties: {
      get_properties m;
      f.str("Name", m.name, false);
      if (plist_dict_get_item(dict, "Name") != nullptr && m.name.empty() && !c.error)
        c.fail("Name is empty (leave it out to get all properties)");
      return m;
    }
    case frame_type::properties: {
      properties m;
      plist_t a = f.item("Properties", PLIST_ARRAY, "an array of dictionaries", true);
      if (a == nullptr) return m;
      const std::uint32_t n = plist_array_get_size(a);
      if (n > max_properties) {
        c.fail("Properties has " + std::to_string(n) + " entries, more than " +
               std::to_string(max_properties));
        return m;
      }
      for (std::uint32_t i = 0; i < n && !c.error; ++i) {
        plist_t e = plist_array_get_item(a, i);
        checker inner{c.where + ": Properties[" + std::to_string(i) + "]", {}};
        if (plist_get_node_type(e) != PLIST_DICT)
          inner.fail("must be a dictionary");
        else
          m.items.push_back(read_property(e, inner));
        c.error = inner.error;
      }
      return m;
    }
    case frame_type::set_property: {
      set_property m;
      f.str("Name", m.name);
      f.str("Value", m.value);
      return m;
    }
    case frame_type::property_set: {
      property_set m;
      f.str("Name", m.name);
      f.str("Requested", m.requested);
      f.str("Applied", m.applied);
      return m;
    }
    case frame_type::capture: return capture{};
    case frame_type::autofocus: return autofocus{};
    case frame_type::focus_step: {
      focus_step m;
      f.choice("Direction", m.direction,
               std::array{std::pair{"near", focus_direction::near},
                          std::pair{"far", focus_direction::far}});
      f.choice(
          "Size", m.size,
          std::array{std::pair{"small", focus_size::small}, std::pair{"medium", focus_size::medium},
                     std::pair{"large", focus_size::large}});
      return m;
    }
    case frame_type::start_live_view: {
      start_live_view m;
      f.u32("MaxInFlight", m.max_in_flight, false);
      return m;
    }
    case frame_type::stop_live_view: return stop_live_view{};
    case frame_type::live_view_ack: {
      live_view_ack m;
      f.u32("Sequence", m.sequence);
      return m;
    }
    case frame_type::live_view_stats: {
      live_view_stats m;
      f.real("Fps", m.fps);
      f.real("CameraFps", m.camera_fps);
      f.real("MeanAgeMs", m.mean_age_ms);
      f.real("MaxAgeMs", m.max_age_ms);
      f.uint("Delivered", m.delivered, UINT64_MAX);
      f.uint("Dropped", m.dropped, UINT64_MAX);
      return m;
    }
    case frame_type::download: {
      download m;
      f.u32("TransferID", m.transfer_id);
      f.uint("Offset", m.offset, max_file_size, false);
      return m;
    }
    case frame_type::ok: return ok{};
    case frame_type::error: {
      error m;
      std::uint32_t code = 0;
      f.u32("Code", code);
      m.code = error_code{code};
      f.str("Message", m.message);
      return m;
    }
    case frame_type::property_changed: return property_changed{read_property(dict, c)};
    case frame_type::capture_done: {
      capture_done m;
      f.u32("TransferID", m.transfer_id);
      f.str("FileName", m.file_name);
      f.uint("Size", m.size, max_file_size);
      f.str("MimeType", m.mime_type);
      return m;
    }
    case frame_type::camera_attached: {
      camera_attached m;
      f.str("Model", m.model);
      f.str("Serial", m.serial, false);
      return m;
    }
    case frame_type::camera_lost: {
      camera_lost m;
      f.str("Reason", m.reason, false);
      return m;
    }
    default: return std::nullopt;
  }
}

bool is_plist_type(frame_type t) {
  const auto v = static_cast<std::uint32_t>(t);
  return (v >= 100 && v <= 113) || (v >= 120 && v <= 124);
}

}  // namespace

std::string to_string(error_code c) {
  switch (c) {
    case error_code::bad_request: return "bad request";
    case error_code::unknown_property: return "unknown property";
    case error_code::value_not_allowed: return "value not allowed";
    case error_code::camera_busy: return "camera busy";
    case error_code::no_camera: return "no camera";
    case error_code::not_supported: return "not supported";
    case error_code::internal: return "internal error";
    case error_code::unknown_transfer: return "unknown transfer";
    case error_code::unsupported_version: return "unsupported version";
  }
  return "error " + std::to_string(static_cast<std::uint32_t>(c));
}

bool is_known_property(std::string_view name) {
  return std::find(std::begin(known_properties), std::end(known_properties), name) !=
         std::end(known_properties);
}

frame_type type_of(const message& m) { return variant_types[m.index()]; }

std::string type_name(std::uint32_t type) {
  switch (static_cast<frame_type>(type)) {
    case frame_type::hello: return "hello";
    case frame_type::get_properties: return "get_properties";
    case frame_type::properties: return "properties";
    case frame_type::set_property: return "set_property";
    case frame_type::property_set: return "property_set";
    case frame_type::capture: return "capture";
    case frame_type::autofocus: return "autofocus";
    case frame_type::focus_step: return "focus_step";
    case frame_type::start_live_view: return "start_live_view";
    case frame_type::stop_live_view: return "stop_live_view";
    case frame_type::download: return "download";
    case frame_type::ok: return "ok";
    case frame_type::error: return "error";
    case frame_type::property_changed: return "property_changed";
    case frame_type::capture_done: return "capture_done";
    case frame_type::camera_attached: return "camera_attached";
    case frame_type::camera_lost: return "camera_lost";
    case frame_type::live_view_frame: return "live_view_frame";
    case frame_type::image_chunk: return "image_chunk";
    case frame_type::live_view_ack: return "live_view_ack";
    case frame_type::live_view_stats: return "live_view_stats";
  }
  if (type == peertalk::end_of_stream) return "end_of_stream";
  return "type " + std::to_string(type);
}

std::optional<decode_error> validate(const message& m) {
  checker c{type_name(static_cast<std::uint32_t>(type_of(m))), {}};
  std::visit([&](const auto& v) { check(c, v); }, m);
  return c.error;
}

std::vector<std::byte> encode(const message& m, std::uint32_t tag) {
  throw_if_invalid(m);
  if (const auto* f = std::get_if<live_view_frame>(&m))
    return encode_live_view_frame(f->sequence, f->timestamp_us, f->width, f->height, f->jpeg);
  if (const auto* c = std::get_if<image_chunk>(&m))
    return encode_image_chunk(tag, c->transfer_id, c->offset, c->total_size, c->data);
  plist_t dict = plist_new_dict();
  std::visit([&](const auto& v) { fill(dict, v); }, m);
  return plist_frame(type_of(m), tag, dict);
}

std::vector<std::byte> encode_live_view_frame(std::uint32_t sequence, std::uint64_t timestamp_us,
                                              std::uint16_t width, std::uint16_t height,
                                              std::span<const std::byte> jpeg) {
  checker c{"live_view_frame", {}};
  check_live_view(c, width, height, jpeg);
  if (c.error) throw std::invalid_argument(c.error->text);
  const std::size_t payload = live_view_header_size + jpeg.size();
  const auto h = peertalk::encode_header(static_cast<std::uint32_t>(frame_type::live_view_frame),
                                         peertalk::no_tag, static_cast<std::uint32_t>(payload));
  // Built from the header, not inserted into an empty vector: GCC 12 for aarch64 at -O3
  // warns (wrongly) that such an insert overflows.
  std::vector<std::byte> out(h.begin(), h.end());
  out.reserve(peertalk::header_size + payload);
  out.resize(peertalk::header_size + live_view_header_size);
  std::byte* f = out.data() + peertalk::header_size;
  base::store_be32(f, sequence);
  base::store_be64(f + 4, timestamp_us);
  base::store_be16(f + 12, width);
  base::store_be16(f + 14, height);
  out.insert(out.end(), jpeg.begin(), jpeg.end());
  return out;
}

std::vector<std::byte> encode_image_chunk(std::uint32_t tag, std::uint32_t transfer_id,
                                          std::uint64_t offset, std::uint64_t total_size,
                                          std::span<const std::byte> data) {
  checker c{"image_chunk", {}};
  check_chunk(c, transfer_id, offset, total_size, data.size());
  if (c.error) throw std::invalid_argument(c.error->text);
  const std::size_t payload = image_chunk_header_size + data.size();
  const auto h = peertalk::encode_header(static_cast<std::uint32_t>(frame_type::image_chunk), tag,
                                         static_cast<std::uint32_t>(payload));
  // Built from the header, not inserted into an empty vector: GCC 12 for aarch64 at -O3
  // warns (wrongly) that such an insert overflows.
  std::vector<std::byte> out(h.begin(), h.end());
  out.reserve(peertalk::header_size + payload);
  out.resize(peertalk::header_size + image_chunk_header_size);
  std::byte* f = out.data() + peertalk::header_size;
  base::store_be32(f, transfer_id);
  base::store_be64(f + 4, offset);
  base::store_be64(f + 12, total_size);
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

std::variant<message, decode_error> decode(const peertalk::frame& f) {
  const auto type = static_cast<frame_type>(f.type);
  checker c{type_name(f.type), {}};
  const std::span<const std::byte> p = f.payload;
  if (type == frame_type::live_view_frame) {
    if (p.size() < live_view_header_size)
      return decode_error{error_code::bad_request, "live_view_frame: payload of " +
                                                       std::to_string(p.size()) +
                                                       " bytes is shorter than its 16-byte header"};
    live_view_frame m;
    m.sequence = base::load_be32(p.data());
    m.timestamp_us = base::load_be64(p.data() + 4);
    m.width = base::load_be16(p.data() + 12);
    m.height = base::load_be16(p.data() + 14);
    const auto jpeg = p.subspan(live_view_header_size);
    check_live_view(c, m.width, m.height, jpeg);
    if (c.error) return *c.error;
    m.jpeg.assign(jpeg.begin(), jpeg.end());
    return message{std::move(m)};
  }
  if (type == frame_type::image_chunk) {
    if (p.size() < image_chunk_header_size)
      return decode_error{error_code::bad_request, "image_chunk: payload of " +
                                                       std::to_string(p.size()) +
                                                       " bytes is shorter than its 20-byte header"};
    image_chunk m;
    m.transfer_id = base::load_be32(p.data());
    m.offset = base::load_be64(p.data() + 4);
    m.total_size = base::load_be64(p.data() + 12);
    const auto data = p.subspan(image_chunk_header_size);
    check_chunk(c, m.transfer_id, m.offset, m.total_size, data.size());
    if (c.error) return *c.error;
    m.data.assign(data.begin(), data.end());
    return message{std::move(m)};
  }
  if (!is_plist_type(type)) {
    if (f.type == peertalk::end_of_stream)
      return decode_error{error_code::bad_request,
                          "end of stream (frame type 0) is not a message: close the channel"};
    return decode_error{
        error_code::not_supported,
        "frame type " + std::to_string(f.type) + " is not part of the camera protocol version 1"};
  }
  if (p.size() > max_plist_payload)
    return decode_error{error_code::bad_request,
                        c.where + ": payload of " + std::to_string(p.size()) +
                            " bytes is more than " + std::to_string(max_plist_payload)};
  plist_ptr dict;
  if (!p.empty()) {
    if (p.size() < bplist_magic.size() ||
        std::memcmp(p.data(), bplist_magic.data(), bplist_magic.size()) != 0)
      return decode_error{error_code::bad_request,
                          c.where + ": payload is not a binary plist (no bplist00 magic)"};
    plist_t root = nullptr;
    plist_from_bin(reinterpret_cast<const char*>(p.data()), static_cast<std::uint32_t>(p.size()),
                   &root);
    dict.reset(root);
    if (root == nullptr)
      return decode_error{error_code::bad_request, c.where + ": binary plist does not parse"};
    if (plist_get_node_type(root) != PLIST_DICT)
      return decode_error{error_code::bad_request, c.where + ": binary plist is not a dictionary"};
  } else {
    dict.reset(plist_new_dict());  // an empty payload reads as an empty dictionary
  }
  auto m = read_plist_message(type, static_cast<plist_t>(dict.get()), c);
  if (c.error) return *c.error;
  if (auto e = validate(*m)) return *e;
  return std::move(*m);
}

}  // namespace tether::proto::camera
