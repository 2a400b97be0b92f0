#pragma once
// Pair records and the SystemBUID, where usbmuxd keeps them (/var/lib/lockdown by
// default) and in the same formats, but written atomically (temporary file, fsync,
// rename) with mode 0600: the records hold private keys, which usbmuxd leaves
// world-readable. Record ids are UDIDs and are validated before they touch a path
// (CVE-2025-66004 was a path traversal through them).
#include <cstddef>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/result.hpp"

namespace tether::daemon {

class pair_records {
 public:
  explicit pair_records(std::filesystem::path dir) : dir_(std::move(dir)) {}

  // Letters, digits and '-' only, 1 to 64 characters: what UDIDs are made of.
  static bool valid_id(std::string_view id);

  // The stored record's bytes (an XML plist), or an errno value: ENOENT when there is
  // none or the id is not valid (as Debian's patched usbmuxd answers).
  std::variant<std::vector<std::byte>, int> read(std::string_view id) const;
  // 0, or an errno: EINVAL for a bad id or data that is not a plist dictionary.
  // Binary plists are accepted and stored as XML, as usbmuxd does.
  int save(std::string_view id, std::span<const std::byte> data) const;
  int remove(std::string_view id) const;

  // The host's SystemBUID: read from SystemConfiguration.plist, or made (a random
  // RFC 4122 UUID) and stored on first use; errno's code if it cannot be stored.
  base::result<std::string> system_buid() const;

  const std::filesystem::path& dir() const { return dir_; }

 private:
  // Creates the directory when missing, then writes atomically (small_file.hpp).
  int write_file(const std::filesystem::path& file, std::string_view contents, int mode) const;
  std::filesystem::path dir_;
};

}  // namespace tether::daemon
