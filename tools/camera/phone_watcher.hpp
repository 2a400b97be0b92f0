#pragma once
// The phone side of PeerTalk's model: the app on the phone listens on a port (2350 by
// default), and we connect to it through tetherd. The watcher Listens on the usbmuxd
// socket for phones coming and going, and keeps one camera session per attached phone:
// - a phone attaches: Connect to its port;
// - the port is refused (the app is not running or not listening yet): try again with
//   back-off, 100 ms doubling to 2 s (as tetherd's forwards), while the phone stays
//   attached: an app that restarts is found within about 2 s;
// - the session ends (the app quit or restarted): connect again at once, then back off;
// - the app accepts but sends nothing within 5 s, not even its hello (it is in the
//   background, PROTOCOL.md §1.1): close, say so in one line (repeats rate-limited),
//   and dial again as above;
// - the phone detaches: stop; it reconnects when plugged back in;
// - tetherd itself goes away: Listen again with back-off, 500 ms doubling to 5 s.
#include <asio.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "base/repeat_limiter.hpp"
#include "camera/session_hub.hpp"
#include "tools/camera/mux_connection.hpp"

namespace tether::camera {

class phone_watcher {
 public:
  phone_watcher(session_hub& hub, std::string daemon_address, std::uint16_t port);
  ~phone_watcher();
  void start();

 private:
  struct phone {
    explicit phone(asio::io_context& io) : timer(io) {}
    std::string udid;
    std::uint32_t device_id = 0;
    bool attached = false;
    bool dialing = false;
    bool refusal_logged = false;
    bool hello_missed = false;  // the last session's app said nothing: the next is quiet
    std::chrono::milliseconds backoff{0};
    std::chrono::steady_clock::time_point connected_at;
    std::shared_ptr<controller_session> session;
    asio::steady_timer timer;
  };
  void listen();
  void listen_later();
  void on_event(plist_t message);
  void dial(const std::shared_ptr<phone>& p);
  void dial_later(const std::shared_ptr<phone>& p);
  void read_events(std::shared_ptr<mux_connection> c);
  void await_hello(const std::shared_ptr<phone>& p);

  session_hub& hub_;
  std::string address_;
  std::uint16_t port_;
  bool stopping_ = false;
  std::shared_ptr<mux_connection> listener_;
  asio::steady_timer listen_timer_;
  std::chrono::milliseconds listen_backoff_{0};
  bool listen_failure_logged_ = false;
  std::map<std::string, std::shared_ptr<phone>> phones_;  // by UDID
  base::repeat_limiter silent_apps_;                      // "has not said hello", per phone
};

}  // namespace tether::camera
