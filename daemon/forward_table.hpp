#pragma once
// The port forwards tetherd runs: from the configuration file at start-up and added or
// removed at run time over the socket (TetherForwardAdd/Remove/List).
#include <asio/io_context.hpp>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.hpp"
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

  // Where a forward comes from: tetherd.conf, or a client (`tether forward add`, also
  // when tetherd restores the ones it saved).
  enum class origin { config_file, client };

  // Validates, binds and starts a forward; the error's detail quotes what was wrong.
  base::result<proto::tetherd::forward_status> add(proto::tetherd::forward_spec spec,
                                                   origin from = origin::client);
  bool remove(const std::string& name);
  std::vector<proto::tetherd::forward_status> list() const;
  // The clients' forwards, each with the local port it is bound to, sorted by name:
  // what must come back after a restart.
  std::vector<proto::tetherd::forward_spec> client_specs() const;
  void stop_all();

  // Called after a client's forward is added or removed (not while stopping).
  void on_client_change(std::function<void()> f) { on_client_change_ = std::move(f); }

 private:
  struct entry {
    std::shared_ptr<forward> f;
    origin from;
  };
  void client_changed() const;

  asio::io_context& io_;
  device_registry& devices_;
  bool allow_remote_;
  retry_policy retry_;
  std::map<std::string, entry> forwards_;
  std::function<void()> on_client_change_;
};

// Each forward holds a listening socket and its clients: a bound on what one client
// (or a configuration file) can make tetherd hold.
inline constexpr std::size_t max_forwards = 256;

}  // namespace tether::daemon
