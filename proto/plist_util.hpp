#pragma once
// The few libplist helpers every plist user in tether needs: an owning pointer, typed
// reads that tolerate a missing or mistyped key, and XML serialisation.
#include <plist/plist.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace tether::proto {

struct plist_deleter {
  void operator()(void* p) const { plist_free(static_cast<plist_t>(p)); }
};
using plist_ptr = std::unique_ptr<void, plist_deleter>;

// The string under `key` of a dictionary, or nullopt when absent or not a string.
inline std::optional<std::string> string_item(plist_t dict, const char* key) {
  plist_t node = plist_dict_get_item(dict, key);
  if (node == nullptr || plist_get_node_type(node) != PLIST_STRING) return std::nullopt;
  std::uint64_t len = 0;
  const char* s = plist_get_string_ptr(node, &len);
  return std::string(s, len);
}

inline std::optional<std::uint64_t> uint_item(plist_t dict, const char* key) {
  plist_t node = plist_dict_get_item(dict, key);
  if (node == nullptr || plist_get_node_type(node) != PLIST_UINT) return std::nullopt;
  std::uint64_t v = 0;
  plist_get_uint_val(node, &v);
  return v;
}

inline std::string to_xml(plist_t p) {
  char* xml = nullptr;
  std::uint32_t len = 0;
  plist_to_xml(p, &xml, &len);
  std::string out(xml, len);
  plist_to_xml_free(xml);
  return out;
}

}  // namespace tether::proto
