#pragma once
// Sample camera-protocol messages: one of every kind, and the named examples whose
// encoded bytes proto/camera/PROTOCOL.md shows (camera_messages_test checks the dumps;
// record_corpus writes them as fuzz seeds).
#include <string>
#include <vector>

#include "proto/camera/messages.hpp"

namespace tether::proto::camera::examples {

struct example {
  std::string name;  // the PROTOCOL.md anchor: <!-- example: NAME -->
  message msg;
  std::uint32_t tag = 0;
};

inline std::vector<std::byte> tiny_jpeg() {
  // SOI, a comment segment "tether", EOI: not a picture, but shaped like a JPEG.
  const unsigned char b[] = {0xFF, 0xD8, 0xFF, 0xFE, 0x00, 0x08, 't',
                             'e',  't',  'h',  'e',  'r',  0xFF, 0xD9};
  std::vector<std::byte> out;
  for (unsigned char c : b) out.push_back(static_cast<std::byte>(c));
  return out;
}

inline property iso_property() {
  return {"iso", "400", {"auto", "100", "200", "400", "800", "1600", "3200", "6400"}, true};
}

// In PROTOCOL.md, in this order.
inline std::vector<example> documented() {
  using namespace messages;
  std::vector<std::byte> chunk = {std::byte{0xFF}, std::byte{0xD8}, std::byte{0xFF},
                                  std::byte{0xE1}};
  return {
      {"hello", hello{1, role::controller, "Studio iPhone", {"live_view", "capture", "download"}},
       0},
      {"get_properties", get_properties{"iso"}, 1},
      {"properties", properties{{iso_property()}}, 1},
      {"set_property", set_property{"shutter_speed", "1/120"}, 2},
      {"property_set", property_set{"shutter_speed", "1/120", "1/125"}, 2},
      {"capture", capture{}, 3},
      {"ok", ok{}, 3},
      {"capture_done", capture_done{7, "IMG_0042.JPG", 6021120, "image/jpeg"}, 0},
      {"download", download{7, 0}, 4},
      {"image_chunk", image_chunk{7, 0, 6021120, chunk}, 4},
      {"error", error{error_code::value_not_allowed, "iso: 12800 is not an allowed value"}, 5},
      {"live_view_frame", live_view_frame{42, 1234567890, 1024, 576, tiny_jpeg()}, 0},
      {"start_live_view", start_live_view{1}, 9},
      {"live_view_ack", live_view_ack{42}, 0},
      {"live_view_stats", live_view_stats{29.5, 30, 12.25, 20.5, 30, 1}, 0},
  };
}

// One of every alternative of `message` (with non-default fields).
inline std::vector<example> all_kinds() {
  using namespace messages;
  auto v = documented();
  v.push_back({"get_all_properties", get_properties{}, 6});
  v.push_back({"autofocus", autofocus{}, 7});
  v.push_back({"focus_step", focus_step{focus_direction::far, focus_size::large}, 8});
  v.push_back({"start_live_view_unacknowledged", start_live_view{}, 9});
  v.push_back({"stop_live_view", stop_live_view{}, 10});
  v.push_back({"property_changed",
               property_changed{{"exposure_compensation", "+0.3", {"-0.3", "0", "+0.3"}, false}},
               0});
  v.push_back({"camera_attached", camera_attached{"Canon EOS R6", "0123456789"}, 0});
  v.push_back({"camera_lost", camera_lost{"USB device removed"}, 0});
  v.push_back({"hello_camera",
               hello{1, role::camera, "Canon EOS R6 via tether", {"live_view", "focus_step"}}, 0});
  v.push_back({"download_resume", download{0xFFFFFFFF, 1u << 20}, 11});
  v.push_back({"last_chunk", image_chunk{3, 10, 12, {std::byte{1}, std::byte{2}}}, 12});
  v.push_back({"empty_file_chunk", image_chunk{3, 0, 0, {}}, 12});
  v.push_back({"error_event", error{error_code::no_camera, "no camera attached"}, 0});
  v.push_back({"unicode_name", hello{1, role::controller, "Zoë’s iPhone 📷", {}}, 0});
  return v;
}

}  // namespace tether::proto::camera::examples
