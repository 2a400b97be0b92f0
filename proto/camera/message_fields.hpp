#pragma once
// Inside the camera codec: the fields of each plist message, listed once, and the three
// walks over that list (read a dictionary, write one, check the values against the
// protocol's limits). messages.cpp builds the public encode/decode/validate on them.
#include <plist/plist.h>

#include <algorithm>
#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "proto/camera/messages.hpp"

namespace tether::proto::camera::detail {

// The frame type of each alternative of `message`, in its order.
extern const std::array<frame_type, std::variant_size_v<message>> variant_types;

// Well-formed UTF-8 without NUL (plist strings cannot carry one).
bool valid_utf8(std::string_view s);

// The first problem found, with where ("hello", "properties: Properties[2]").
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
  void blob(const char* what, std::size_t size, std::size_t max) {
    if (size > max)
      fail(std::string(what) + " is " + std::to_string(size) + " bytes, more than " +
           std::to_string(max));
  }
};

// A plist message of `type`, read field by field; problems go to `c`.
std::optional<message> read_plist_message(frame_type type, plist_t dict, checker& c);
// Fills `dict` with a plist message's fields (binary messages have none here).
void write_plist_fields(const message& m, plist_t dict);
// Holds a plist message's fields to the protocol's limits.
void check_plist_fields(const message& m, checker& c);

}  // namespace tether::proto::camera::detail
