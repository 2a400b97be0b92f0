#include "camera/protocol_mapping.hpp"

#include <cstdio>

namespace tether::camera {

namespace wire = proto::camera;

wire::property to_wire(const property& p) {
  wire::property w;
  w.name = p.name;
  w.value = p.value;
  w.allowed = p.allowed;
  w.writable = !p.read_only;
  return w;
}

wire::messages::error to_wire(const camera_error& e) {
  wire::messages::error w;
  switch (e.which()) {
    case camera_error::kind::busy: w.code = wire::error_code::camera_busy; break;
    case camera_error::kind::no_camera: w.code = wire::error_code::no_camera; break;
    case camera_error::kind::unknown_property: w.code = wire::error_code::unknown_property; break;
    case camera_error::kind::bad_value: w.code = wire::error_code::value_not_allowed; break;
    case camera_error::kind::unsupported: w.code = wire::error_code::not_supported; break;
    case camera_error::kind::failed: w.code = wire::error_code::internal; break;
  }
  w.message = std::string(e.what()).substr(0, wire::max_message);
  return w;
}

focus_direction from_wire(wire::messages::focus_direction d) {
  return d == wire::messages::focus_direction::near ? focus_direction::near : focus_direction::far;
}

int from_wire(wire::messages::focus_size s) {
  switch (s) {
    case wire::messages::focus_size::small: return 1;
    case wire::messages::focus_size::medium: return 2;
    case wire::messages::focus_size::large: return 3;
  }
  return 1;
}

}  // namespace tether::camera
