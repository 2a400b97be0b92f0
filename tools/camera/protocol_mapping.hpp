#pragma once
// Between the service's types (tools/camera) and the camera protocol's (proto/camera).
#include "proto/camera/messages.hpp"
#include "tools/camera/camera_backend.hpp"
#include "tools/camera/live_view_meter.hpp"

namespace tether::camera {

proto::camera::property to_wire(const property& p);
proto::camera::messages::error to_wire(const camera_error& e);
focus_direction from_wire(proto::camera::messages::focus_direction d);
int from_wire(proto::camera::messages::focus_size s);  // 1, 2, 3: the camera's step sizes

// Live-view statistics as read-only properties, sent as property_changed events once a
// second: the protocol has no stats message yet (see the report on issue 6), and a
// controller that shows properties shows these without knowing about them.
//   live_view_fps         frames delivered to this controller per second
//   live_view_age_ms      mean age of those frames, capture to socket
//   live_view_age_max_ms  the oldest of them
//   live_view_dropped     frames replaced before this controller could take them
//   camera_fps            frames the camera delivered per second
std::vector<proto::camera::property> stats_properties(const live_view_stats& s, double camera_fps);

}  // namespace tether::camera
