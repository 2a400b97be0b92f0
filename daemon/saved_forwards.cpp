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
    "# Forwards and reverses added with `tether forward add` and `tether reverse add`,\n"
    "# restored whenever tetherd starts. tetherd rewrites this file on every change: use\n"
    "# `tether forward|reverse add|remove`, or put lasting ones in /etc/tether/tetherd.conf.\n";

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

saved_channels saved_forwards::load(std::string& problem) const {
  problem.clear();
  if (!enabled()) return {};
  std::string text;
  const int e = base::read_file(path_, max_file_bytes + 1, text);
  if (e == ENOENT) return {};
  std::string why = e != 0 ? std::strerror(e) : "";
  if (e == 0) {
    auto parsed = parse_config(text, sections::saved_only);
    if (parsed) return {std::move(parsed->forwards), std::move(parsed->reverses)};
    why = parsed.describe();
  }
  const std::string bad = path_ + ".bad";
  const bool moved = e != EACCES && std::rename(path_.c_str(), bad.c_str()) == 0;
  problem = "the saved forwards in " + path_ + " cannot be read (" + why + ")" +
            (moved ? "; moved to " + bad + ": add them again with `tether forward add`"
                   : "; fix or remove the file");
  return {};
}

base::result<void> saved_forwards::save(const saved_channels& channels) const {
  if (!enabled()) return {};
  const std::string text =
      header + format_forwards(channels.forwards) + format_reverses(channels.reverses);
  if (const int e = base::write_file_atomically(path_, text, 0644))
    return {errno_code(e), "cannot save the forwards in " + path_ + ": " + std::strerror(e) +
                               "; they last until tetherd stops"};
  return {};
}

}  // namespace tether::daemon
