#pragma once
// The port forwards tetherd runs: from the configuration file at start-up and added or
// removed at run time over the socket (TetherForwardAdd/Remove/List).
#include <asio/io_context.hpp>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "daemon/forward.hpp"

namespace tether::daemon {

class forward_table {
 public:
  // Forwards listen on loopback only, unless `allow_remote`: anyone who reaches a
  // forward reaches the phone's port.
  forward_table(asio::io_context& io, device_registry& devices, bool allow_remote,
                retry_policy retry)
      : io_(io), devices_(devices), allow_remote_(allow_remote), retry_(retry) {}
  ~forward_table() { stop_all(); }

  // Validates, binds and starts a forward; nullopt with `error` set when it cannot.
  std::optional<proto::tetherd::forward_status> add(proto::tetherd::forward_spec spec,
                                                    std::string& error);
  bool remove(const std::string& name);
  std::vector<proto::tetherd::forward_status> list() const;
  void stop_all();

 private:
  asio::io_context& io_;
  device_registry& devices_;
  bool allow_remote_;
  retry_policy retry_;
  std::map<std::string, std::shared_ptr<forward>> forwards_;
};

}  // namespace tether::daemon
