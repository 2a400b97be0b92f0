#include "daemon/saved_forwards.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "base/small_file.hpp"
#include "daemon/config.hpp"
#include "daemon/errc.hpp"

namespace tether::daemon {
namespace {

constexpr std::size_t max_file_bytes = 1 << 20;  // parse_config's limit too

constexpr const char* header =
    "# Forwards added with `tether forward add`, restored whenever tetherd starts.\n"
    "# tetherd rewrites this file on every change: use `tether forward add` and\n"
    "# `tether forward remove`, or put lasting forwards in /etc/tether/tetherd.conf.\n";

}  // namespace

saved_forwards::saved_forwards(std::string dir) : dir_(std::move(dir)) {
  if (!dir_.empty()) path_ = dir_ + "/forwards";
}

base::result<void> saved_forwards::prepare() const {
  if (!enabled() || ::mkdir(dir_.c_str(), 0755) == 0 || errno == EEXIST) return {};
  return {errno_code(),
          "cannot create " + dir_ + " for the saved forwards: " + std::strerror(errno) +
              "; forwards added now last until tetherd stops (choose a place with --state-dir)"};
}

std::vector<proto::tetherd::forward_spec> saved_forwards::load(std::string& problem) const {
  problem.clear();
  if (!enabled()) return {};
  std::string text;
  const int e = base::read_file(path_, max_file_bytes + 1, text);
  if (e == ENOENT) return {};
  std::string why = e != 0 ? std::strerror(e) : "";
  if (e == 0) {
    auto parsed = parse_config(text, sections::forwards_only);
    if (parsed) return std::move(parsed->forwards);
    why = parsed.describe();
  }
  const std::string bad = path_ + ".bad";
  const bool moved = e != EACCES && std::rename(path_.c_str(), bad.c_str()) == 0;
  problem = "the saved forwards in " + path_ + " cannot be read (" + why + ")" +
            (moved ? "; moved to " + bad + ": add them again with `tether forward add`"
                   : "; fix or remove the file");
  return {};
}

base::result<void> saved_forwards::save(
    const std::vector<proto::tetherd::forward_spec>& forwards) const {
  if (!enabled()) return {};
  if (const int e = base::write_file_atomically(path_, header + format_forwards(forwards), 0644))
    return {errno_code(e), "cannot save the forwards in " + path_ + ": " + std::strerror(e) +
                               "; they last until tetherd stops"};
  return {};
}

}  // namespace tether::daemon
