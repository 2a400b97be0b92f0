#pragma once
// The forwards and reverses a user added at run time (`tether forward add`, `tether
// reverse add`), kept in STATE_DIR/forwards (default /var/lib/tether/forwards) so that
// they outlive tetherd: an exit when idle, a restart, a crash, a reboot. The file has
// tetherd.conf's [forward NAME] and [reverse NAME] format and is rewritten atomically
// on every change. Those from tetherd.conf are not in it: the configuration brings
// them back itself.
#include <string>
#include <vector>

#include "base/result.hpp"
#include "proto/tetherd/control.hpp"

namespace tether::daemon {

struct saved_channels {
  std::vector<proto::tetherd::forward_spec> forwards;
  std::vector<proto::tetherd::reverse_spec> reverses;
};

class saved_forwards {
 public:
  // An empty `dir` saves nothing (--state-dir NONE).
  explicit saved_forwards(std::string dir);

  bool enabled() const { return !path_.empty(); }
  const std::string& path() const { return path_; }

  // Creates the directory (0755) when missing; run while still root. An error when it
  // cannot be made (tetherd still serves, saving nothing).
  base::result<void> prepare() const;
  // What was saved; nothing when there is no file. A file that cannot be read back is
  // moved aside to forwards.bad, so the next save does not destroy what it held, and
  // `problem` says so.
  saved_channels load(std::string& problem) const;
  // Replaces the file with `channels`.
  base::result<void> save(const saved_channels& channels) const;

 private:
  std::string dir_;
  std::string path_;
};

}  // namespace tether::daemon
