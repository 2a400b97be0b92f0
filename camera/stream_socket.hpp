#pragma once
// The socket a controller's session runs on: any stream socket (a phone's port through
// the usbmux daemon, a local unix socket, one end of a socketpair in tether-sim).
#include <asio/generic/stream_protocol.hpp>

namespace tether::camera {

using stream_socket = asio::generic::stream_protocol::socket;

}  // namespace tether::camera
