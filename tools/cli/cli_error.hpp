#pragma once
// What a subcommand throws when it cannot do what was asked: the words for the user
// and the exit status (documented in `tether --help`).
#include <stdexcept>
#include <string>

namespace tether::cli {

enum exit_code : int {
  ok = 0,
  failed = 1,         // anything else that went wrong
  usage = 2,          // bad command line
  no_daemon = 3,      // the usbmuxd socket cannot be reached
  no_phone = 4,       // no such phone, none attached, or several and none chosen
  port_closed = 5,    // the phone refused the connection: the app is not listening
  not_tetherd = 6,    // the daemon is the reference usbmuxd, which lacks this request
  interrupted = 130,  // Ctrl-C during a wait (128 + SIGINT, as shells report it)
};

struct cli_error : std::runtime_error {
  cli_error(int code_, const std::string& what) : std::runtime_error(what), code(code_) {}
  int code;
};

}  // namespace tether::cli
