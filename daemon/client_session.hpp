#pragma once
// One client of the usbmuxd socket (iproxy, idevice_id, a PeerTalk host...). It
// speaks the usbmuxd protocol until a Connect succeeds; from then on the socket is a
// raw byte pipe to the phone's port, with backpressure both ways: the phone is only
// read as fast as the client takes bytes, the client only as fast as the phone's
// window allows.
#include <asio/local/stream_protocol.hpp>
#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "daemon/device_registry.hpp"
#include "daemon/pair_records.hpp"
#include "proto/usbmuxd/wire.hpp"

namespace tether::daemon {

class client_session : public std::enable_shared_from_this<client_session>,
                       private device_registry::watcher {
 public:
  client_session(asio::local::stream_protocol::socket socket, device_registry& devices,
                 const pair_records& records, std::uint32_t number, const std::string& buid);
  ~client_session() override;
  void start();

 private:
  enum class state { command, listening, connecting, connected, closed };

  void read_commands();
  void handle(const proto::usbmuxd::request& r);
  void start_connect(const proto::usbmuxd::request& r, const proto::usbmuxd::requests::connect& c);
  void on_conn_event(const usbmux::event& e);

  void queue(std::vector<std::byte> message);
  void write_queued();

  // Raw relay once connected.
  void pump_to_client();
  void pump_to_phone();
  void finish_relay(const std::string& why);
  void close();

  void on_attached(const proto::usbmuxd::device& d) override;
  void on_detached(std::uint32_t device_id) override;
  proto::usbmuxd::listener describe() const override { return {number_, client_}; }

  usb::device_link* link() const { return devices_.find(device_id_); }
  std::string who() const;

  asio::local::stream_protocol::socket socket_;
  device_registry& devices_;
  const pair_records& records_;
  std::uint32_t number_;
  const std::string& buid_;
  state state_ = state::command;
  bool plist_ = false;  // replies switch to plist for good after the first plist request
  proto::usbmuxd::client_info client_;
  proto::usbmuxd::message_reader reader_;
  std::vector<std::byte> in_buf_ = std::vector<std::byte>(65536);

  std::deque<std::vector<std::byte>> out_;  // bounded: a listener that never reads is dropped
  bool writing_ = false;

  std::uint32_t device_id_ = 0;
  usbmux::conn_id conn_ = 0;
  std::uint16_t port_ = 0;
  std::uint32_t connect_tag_ = 0;
  std::vector<std::byte> to_client_;  // bytes from the phone being written now
  std::vector<std::byte> to_phone_;   // read from the client, not yet taken by the mux
  bool reading_client_ = false;
  bool phone_closed_ = false;  // the phone reset: deliver what it sent, then close
  std::uint64_t bytes_up_ = 0, bytes_down_ = 0;
};

}  // namespace tether::daemon
