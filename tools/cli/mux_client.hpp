#pragma once
// A blocking client of the usbmuxd protocol (plist version) for the CLI: sockets around
// proto/usbmuxd/client. It talks to tetherd or the reference usbmuxd alike; tetherd's
// own requests (MessageType Tether*) get BADCOMMAND from the reference, which the
// caller turns into a clear "not tetherd" error.
#include <plist/plist.h>

#include <string>

#include "proto/plist_util.hpp"
#include "proto/usbmuxd/client.hpp"
#include "tools/cli/cli_error.hpp"

namespace tether::cli {

// Where the daemon is: --socket, else $USBMUXD_SOCKET_ADDRESS, else /var/run/usbmuxd.
using proto::usbmuxd::daemon_address;

class mux_client {
 public:
  // Connects; throws cli_error(no_daemon) with the reason.
  explicit mux_client(const std::string& address);
  ~mux_client();
  mux_client(const mux_client&) = delete;
  mux_client& operator=(const mux_client&) = delete;

  // Sends a request built from `dict` (MessageType set by the caller; ProgName and
  // the client version are added) and returns the reply's dictionary.
  proto::plist_ptr request(plist_t dict);
  // The next message from the daemon (Listen events); nullptr when it hung up.
  proto::plist_ptr next_message();
  // After a successful Connect the socket is the phone's port: take it.
  int release();
  int fd() const { return fd_; }
  const std::string& address() const { return address_; }

 private:
  void send(plist_t dict);
  std::string address_;
  int fd_ = -1;
  std::uint32_t tag_ = 0;
};

// Why connecting to the unix socket `path` failed with errno `err`, in words (a socket
// only a group may use says which group to join).
std::string unix_connect_error(const std::string& path, int err);
// The error for a daemon that cannot be reached at `address` (`error` says why), as every
// client of it says it.
cli_error daemon_unreachable(const std::string& address, const std::string& error);

// The Result number of a reply; throws if the reply is not a Result.
std::uint64_t result_number(plist_t reply);

}  // namespace tether::cli
