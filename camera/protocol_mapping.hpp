#pragma once
// Between the service's types (camera/) and the camera protocol's (proto/camera).
#include "camera/camera_backend.hpp"
#include "proto/camera/messages.hpp"

namespace tether::camera {

proto::camera::property to_wire(const property& p);
proto::camera::messages::error to_wire(const camera_error& e);
focus_direction from_wire(proto::camera::messages::focus_direction d);
int from_wire(proto::camera::messages::focus_size s);  // 1, 2, 3: the camera's step sizes

}  // namespace tether::camera
