#pragma once
// Pairs each phone that arrives, in the background, as usbmuxd's preflight does but
// without hiding it: the phone is listed and its app ports work while the Trust dialog
// is up. The protocol is pairing/pairing_flow.hpp; this joins it to the phone's mux
// connection to lockdownd, a timer, the pair records and the listeners (Paired).
//
// The host's keys are made once (pairing/host_identity.hpp) on a thread of their own,
// since RSA-2048 takes seconds on a small board; phones that arrive meanwhile wait.
#include <asio/io_context.hpp>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "base/result.hpp"
#include "daemon/device_registry.hpp"
#include "daemon/pair_records.hpp"
#include "pairing/host_identity.hpp"
#include "pairing/pairing_flow.hpp"

namespace tether::daemon {

class pairing_service : public device_registry::watcher {
 public:
  struct settings {
    bool automatic = true;                // pair every phone that arrives
    std::filesystem::path identity_file;  // the host's keys
    pairing::flow_options flow{};
  };
  pairing_service(asio::io_context& io, device_registry& devices, const pair_records& records,
                  std::string system_buid, settings s);
  ~pairing_service() override;

  // `tether pair`: pairs this phone now, whatever it did before (a denied dialog too).
  base::result<void> pair(std::uint32_t device_id);
  // "paired", "waiting for Trust (12 s)", ... for TetherStatus; empty when never asked.
  std::string state_of(std::uint32_t device_id) const;

  void on_attached(const proto::usbmuxd::device& d) override;
  void on_detached(std::uint32_t device_id) override;
  void on_paired(std::uint32_t) override {}
  proto::usbmuxd::listener describe() const override { return {}; }
  bool listed() const override { return false; }

 private:
  class phone;
  void start(std::uint32_t device_id);
  void identity_loaded(base::result<pairing::host_identity> id);

  asio::io_context& io_;
  device_registry& devices_;
  const pair_records& records_;
  std::string buid_;
  settings settings_;
  std::optional<pairing::host_identity> identity_;
  std::string identity_problem_;  // why there are no host keys
  bool loading_ = false;
  std::map<std::uint32_t, std::shared_ptr<phone>> phones_;
  // Shared with the thread that makes the keys: it posts its result only while the
  // service lives, under the lock the destructor takes to say it no longer does.
  struct loader {
    std::mutex lock;
    bool service_gone = false;
  };
  std::shared_ptr<loader> loader_ = std::make_shared<loader>();
  // Joined by the destructor: OpenSSL must not be in use when the process exits. At
  // worst a stop waits for the keys being made (once per board).
  std::thread keys_thread_;
};

}  // namespace tether::daemon
