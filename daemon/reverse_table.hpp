#pragma once
// The reverse channels tetherd runs (`tether reverse add`, [reverse NAME] in
// tetherd.conf, TetherReverseAdd/Remove/List): each keeps a reverse_pool open on every
// phone it is for, from the phone's arrival to its departure.
#include <asio/io_context.hpp>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "daemon/device_registry.hpp"
#include "daemon/reverse_pool.hpp"

namespace tether::daemon {

// Each reverse holds up to max_reverse_lines connections on every phone.
inline constexpr std::size_t max_reverses = 64;

class reverse_table : public device_registry::watcher {
 public:
  reverse_table(asio::io_context& io, device_registry& devices, reverse_backoff backoff = {});
  ~reverse_table() override;

  enum class origin { config_file, client };

  // Validates and starts a reverse on the phones attached now; the error's detail
  // quotes what was wrong.
  base::result<proto::tetherd::reverse_status> add(proto::tetherd::reverse_spec spec,
                                                   origin from = origin::client);
  bool remove(const std::string& name);
  std::vector<proto::tetherd::reverse_status> list() const;
  std::size_t size() const { return reverses_.size(); }
  void stop_all();

  // The clients' reverses, sorted by name: what must come back after a restart.
  std::vector<proto::tetherd::reverse_spec> client_specs() const;
  // Called after a client's reverse is added or removed (not while stopping).
  void on_client_change(std::function<void()> f) { on_client_change_ = std::move(f); }

  void on_attached(const proto::usbmuxd::device& d) override;
  void on_detached(std::uint32_t device_id) override;
  void on_paired(std::uint32_t) override {}
  proto::usbmuxd::listener describe() const override { return {}; }
  bool listed() const override { return false; }

 private:
  struct entry {
    proto::tetherd::reverse_spec spec;
    origin from;
    std::shared_ptr<reverse_counters> counters = std::make_shared<reverse_counters>();
    std::map<std::uint32_t, std::shared_ptr<reverse_pool>> pools;  // by DeviceID
  };
  void open_pool(entry& e, std::uint32_t device_id);
  proto::tetherd::reverse_status status(const entry& e) const;
  void client_changed() const;

  asio::io_context& io_;
  device_registry& devices_;
  reverse_backoff backoff_;
  std::map<std::string, entry> reverses_;
  std::function<void()> on_client_change_;
};

}  // namespace tether::daemon
