#include "daemon/pair_records.hpp"

#include "base/small_file.hpp"
#include "daemon/errc.hpp"
#include "proto/plist_util.hpp"

#include <fcntl.h>
#include <plist/plist.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <random>

namespace tether::daemon {
namespace {

// A pair record is a few KB; it travels in one usbmuxd message, which is at most 64 KiB.
constexpr std::size_t max_record_bytes = 64 * 1024;

using proto::plist_ptr;
using proto::to_xml;

std::string random_uuid() {
  std::random_device rd;
  unsigned char b[16];
  for (auto& x : b) x = static_cast<unsigned char>(rd());
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  char out[37];
  std::snprintf(out, sizeof out,
                "%02X%02X%02X%02X-%02X%02X-%02X%02X-%02X%02X-%02X%02X%02X%02X%02X%02X", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
                b[15]);
  return out;
}

}  // namespace

bool pair_records::valid_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id)
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
      return false;
  return true;
}

std::variant<std::vector<std::byte>, int> pair_records::read(std::string_view id) const {
  if (!valid_id(id)) return ENOENT;
  std::string raw;
  if (const int e = base::read_file(dir_ / (std::string(id) + ".plist"), max_record_bytes + 1, raw))
    return e;
  if (raw.size() > max_record_bytes) return EFBIG;
  const auto bytes = std::as_bytes(std::span(raw));
  return std::vector<std::byte>(bytes.begin(), bytes.end());
}

int pair_records::save(std::string_view id, std::span<const std::byte> data) const {
  if (!valid_id(id) || data.size() < 8) return EINVAL;
  plist_t root = nullptr;
  plist_from_memory(reinterpret_cast<const char*>(data.data()),
                    static_cast<std::uint32_t>(data.size()), &root);
  plist_ptr record(root);
  if (!root || plist_get_node_type(root) != PLIST_DICT) return EINVAL;
  return write_file(dir_ / (std::string(id) + ".plist"), to_xml(root), 0600);
}

int pair_records::remove(std::string_view id) const {
  if (!valid_id(id)) return ENOENT;
  return ::unlink((dir_ / (std::string(id) + ".plist")).c_str()) == 0 ? 0 : errno;
}

base::result<std::string> pair_records::system_buid() const {
  const auto file = dir_ / "SystemConfiguration.plist";
  if (std::string raw;
      base::read_file(file, max_record_bytes + 1, raw) == 0 && raw.size() <= max_record_bytes) {
    plist_t root = nullptr;
    plist_from_memory(raw.data(), static_cast<std::uint32_t>(raw.size()), &root);
    plist_ptr config(root);
    if (root && plist_get_node_type(root) == PLIST_DICT) {
      if (auto buid = proto::string_item(root, "SystemBUID")) return *buid;
    }
  }
  const std::string buid = random_uuid();
  plist_ptr config(plist_new_dict());
  plist_dict_set_item(config.get(), "SystemBUID", plist_new_string(buid.c_str()));
  if (int e = write_file(file, to_xml(config.get()), 0644)) {
    return {errno_code(e),
            "cannot store the SystemBUID in " + file.string() + ": " + std::strerror(e)};
  }
  return buid;
}

int pair_records::write_file(const std::filesystem::path& file, std::string_view contents,
                             int mode) const {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  return base::write_file_atomically(file.string(), contents, mode);
}

}  // namespace tether::daemon
