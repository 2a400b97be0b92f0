#pragma once
// Local controllers on a unix socket, in the same camera protocol the phone speaks.
// The socket is mode 0660 (owner and, with --group, a group): file permissions decide
// who may drive the camera, where an open TCP port would let anyone on the network.
#include <asio.hpp>
#include <string>

#include "camera/session_hub.hpp"

namespace tether::camera {

class local_listener {
 public:
  // Throws std::runtime_error with the reason when the socket cannot be made.
  local_listener(session_hub& hub, std::string path, const std::string& group);
  ~local_listener();

 private:
  void accept();
  session_hub& hub_;
  std::string path_;
  asio::local::stream_protocol::acceptor acceptor_;
  unsigned next_ = 1;
};

}  // namespace tether::camera
