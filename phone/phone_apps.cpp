#include "phone/phone_apps.hpp"

#include <array>
#include <unordered_map>

namespace tether::sim {
namespace {

using usbmux::conn_id;
using usbmux::device_session;

class echo_app final : public phone_app {
 public:
  void on_accept(device_session&, conn_id) override {}
  void on_ready(device_session& s, conn_id id) override {
    const auto data = s.received(id);
    if (data.empty()) return;
    const auto took = s.send(id, data);
    if (took) s.consume(id, *took);
  }
};

class source_app final : public phone_app {
 public:
  explicit source_app(std::uint64_t bytes) : total_(bytes) {}
  void on_accept(device_session& s, conn_id id) override {
    sent_[id] = 0;
    on_ready(s, id);
  }
  void on_ready(device_session& s, conn_id id) override {
    s.consume(id, s.received(id).size());  // input is ignored
    auto it = sent_.find(id);
    if (it == sent_.end()) return;
    std::array<std::byte, 16384> chunk;
    while (it->second < total_) {
      const std::size_t n =
          static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), total_ - it->second));
      for (std::size_t i = 0; i < n; ++i) chunk[i] = source_pattern(it->second + i);
      const auto took = s.send(id, std::span(chunk).first(n));
      if (!took || *took == 0) return;  // `writable` will call again
      it->second += *took;
    }
  }

 private:
  std::uint64_t total_;
  std::unordered_map<conn_id, std::uint64_t> sent_;
};

class sink_app final : public phone_app {
 public:
  void on_accept(device_session&, conn_id) override {}
  void on_ready(device_session& s, conn_id id) override { s.consume(id, s.received(id).size()); }
};

}  // namespace

std::unique_ptr<phone_app> make_echo_app() { return std::make_unique<echo_app>(); }
std::unique_ptr<phone_app> make_source_app(std::uint64_t bytes) {
  return std::make_unique<source_app>(bytes);
}
std::unique_ptr<phone_app> make_sink_app() { return std::make_unique<sink_app>(); }

}  // namespace tether::sim
