#include "phone/lockdownd_app.hpp"

#include <unordered_map>
#include <vector>

#include "base/log.hpp"

namespace tether::sim {
namespace {

using usbmux::conn_id;
using usbmux::device_session;

class lockdownd_app final : public phone_app {
 public:
  lockdownd_app(lockdown_identity id, std::shared_ptr<phone_trust> trust)
      : id_(std::move(id)), trust_(std::move(trust)) {}

  void on_accept(device_session&, conn_id id) override {
    connections_.try_emplace(id, connection{lockdown_responder(id_, trust_), {}});
  }

  void on_ready(device_session& s, conn_id id) override {
    auto it = connections_.find(id);
    if (it == connections_.end()) return;
    connection& c = it->second;
    const auto data = s.received(id);
    const auto fed = c.responder.feed(data);
    s.consume(id, data.size());
    if (!fed) {  // as a phone does: no answer, the connection ends
      log::info("lockdownd: dropping a connection: " + fed.describe());
      connections_.erase(it);
      (void)s.abort(id);
      return;
    }
    const auto out = c.responder.take_output();
    c.unsent.insert(c.unsent.end(), out.begin(), out.end());
    if (c.unsent.empty()) return;
    const auto took = s.send(id, c.unsent);  // the rest waits for `writable`
    if (took)
      c.unsent.erase(c.unsent.begin(), c.unsent.begin() + static_cast<std::ptrdiff_t>(*took));
  }

  void on_closed(conn_id id) override { connections_.erase(id); }

 private:
  lockdown_identity id_;
  std::shared_ptr<phone_trust> trust_;
  struct connection {
    lockdown_responder responder;
    std::vector<std::byte> unsent;  // answers the send buffer had no room for yet
  };
  std::unordered_map<conn_id, connection> connections_;
};

}  // namespace

std::unique_ptr<phone_app> make_lockdownd_app(lockdown_identity id,
                                              std::shared_ptr<phone_trust> trust) {
  return std::make_unique<lockdownd_app>(std::move(id), std::move(trust));
}

}  // namespace tether::sim
