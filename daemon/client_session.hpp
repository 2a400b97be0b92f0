#pragma once
// One client of the usbmuxd socket (iproxy, idevice_id, a PeerTalk host, the tether
// CLI...). It speaks the usbmuxd protocol until a Connect succeeds; then the socket is
// handed to a relay and becomes a raw byte pipe to the phone's port.
#include <array>
#include <asio/generic/stream_protocol.hpp>
#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "daemon/daemon_context.hpp"
#include "daemon/dialer.hpp"
#include "proto/usbmuxd/wire.hpp"

namespace tether::daemon {

class client_session : public std::enable_shared_from_this<client_session>,
                       private device_registry::watcher {
 public:
  using socket_type = asio::generic::stream_protocol::socket;
  client_session(socket_type socket, daemon_context& ctx, std::uint32_t number);
  ~client_session() override;
  void start();
  // tetherd is stopping: drop the client.
  void close();
  // Instead of start(), for a client over the cap: one reply that says why, then close.
  void refuse(const std::string& why);

 private:
  enum class state { command, listening, connecting, handing_over, refusing, closed };

  void read_commands();
  void handle_requests();
  void handle(const proto::usbmuxd::request& r);
  plist_t pair_reply(const std::string& udid);
  void handle_control(std::uint32_t tag, const proto::tetherd::request& r);
  void start_connect(std::uint32_t tag, const proto::usbmuxd::requests::connect& c);
  void hand_over();

  // `event`: not a reply (Attached, Detached, Paired), so not held back by backpressure.
  void queue(std::vector<std::byte> message, bool event = false);
  void write_queued();

  void on_attached(const proto::usbmuxd::device& d) override;
  void on_detached(std::uint32_t device_id) override;
  void on_paired(std::uint32_t device_id) override;
  proto::usbmuxd::listener describe() const override { return {number_, client_}; }

  std::string who() const;

  socket_type socket_;
  daemon_context& ctx_;
  std::uint32_t number_;
  state state_ = state::command;
  bool plist_ = false;  // replies switch to plist for good after the first plist request
  proto::usbmuxd::client_info client_;
  proto::usbmuxd::message_reader reader_;
  std::array<std::byte, 4096> in_buf_;  // requests are small; the reader keeps partial ones

  std::error_code framing_;  // the stream cannot be framed past this point
  bool reading_ = false;

  // Bounded (client_session.cpp): requests are not read while replies wait, and a
  // listener that never reads its events is dropped.
  std::deque<std::vector<std::byte>> out_;
  std::size_t out_bytes_ = 0;
  bool writing_ = false;

  std::shared_ptr<dialer> dialer_;      // while connecting and until the relay takes over
  std::vector<std::byte> early_bytes_;  // sent with the Connect: the phone's first bytes
};

}  // namespace tether::daemon
