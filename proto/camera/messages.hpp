#pragma once
// tether's camera protocol, version 1, on PeerTalk frames (proto/peertalk/frame.hpp).
// proto/camera/PROTOCOL.md is the specification, with byte-level examples; this is its
// codec. Control messages carry a binary plist dictionary; live-view frames and image
// chunks carry a fixed big-endian binary header and then raw bytes.
//
// Requests carry a non-zero PeerTalk tag and their reply echoes it; events use tag 0.
// Every length is bounded (constants below): decode() rejects a violation with
// error_code::bad_request and a text that names the field, and encode() refuses to
// produce one (std::invalid_argument with the same text).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "proto/peertalk/frame.hpp"

namespace tether::proto::camera {

inline constexpr std::uint32_t protocol_version = 1;

// PeerTalk frame types. 0 stays PeerTalk's end of stream; ours start at 100.
enum class frame_type : std::uint32_t {
  // requests and replies (binary plist)
  hello = 100,            // both ways, first frame on a channel
  get_properties = 101,   // controller -> camera
  properties = 102,       // reply to get_properties
  set_property = 103,     // controller -> camera
  property_set = 104,     // reply to set_property: requested and applied value
  capture = 105,          // controller -> camera; reply ok, then event capture_done
  autofocus = 106,        // controller -> camera; reply ok
  focus_step = 107,       // controller -> camera; reply ok
  start_live_view = 108,  // controller -> camera; reply ok, then live_view_frame frames
  stop_live_view = 109,   // controller -> camera; reply ok
  download = 110,         // controller -> camera; reply: image_chunk frames with its tag
  ok = 111,               // reply: done
  error = 112,            // reply (request's tag) or event (tag 0)
  live_view_ack = 113,    // controller -> camera, tag 0, no reply: frames up to here handled
  // events, tag 0 (binary plist)
  property_changed = 120,
  capture_done = 121,
  camera_attached = 122,
  camera_lost = 123,
  live_view_stats = 124,  // once a second while live view runs
  // bulk data (fixed binary header + raw bytes)
  live_view_frame = 130,  // tag 0
  image_chunk = 131,      // tag of the download request
};

// Error codes on the wire (error.Code). Values not listed here may come from a newer
// peer and are kept as they are.
enum class error_code : std::uint32_t {
  bad_request = 1,          // malformed frame: missing/mistyped field, bound exceeded
  unknown_property = 2,     // no such property on this camera
  value_not_allowed = 3,    // value not in the property's allowed list
  camera_busy = 4,          // camera is capturing, focusing or writing
  no_camera = 5,            // no camera attached
  not_supported = 6,        // unknown frame type, or the camera cannot do it
  internal = 7,             // the camera side failed (gphoto2 error, I/O)
  unknown_transfer = 8,     // download of a transfer id that does not exist (any more)
  unsupported_version = 9,  // hello with a protocol version this side cannot speak
};
// "bad request", "unknown property", ...; "error N" for codes not listed.
std::string to_string(error_code c);

// --- bounds (bytes for strings, entries for lists) ----------------------------------
inline constexpr std::size_t max_name = 64;                 // hello.Name
inline constexpr std::size_t max_capabilities = 32;         // hello.Capabilities entries
inline constexpr std::size_t max_capability = 32;           // one capability
inline constexpr std::size_t max_property_name = 32;        // [a-z0-9_]
inline constexpr std::size_t max_value = 64;                // a property value
inline constexpr std::size_t max_allowed = 256;             // allowed values of one property
inline constexpr std::size_t max_properties = 64;           // properties in one reply
inline constexpr std::size_t max_message = 1024;            // error message, camera_lost reason
inline constexpr std::size_t max_file_name = 255;           // capture_done.FileName
inline constexpr std::size_t max_mime_type = 127;           // capture_done.MimeType
inline constexpr std::size_t max_model = 128;               // camera_attached Model, Serial
inline constexpr std::uint64_t max_file_size = 1ull << 32;  // a captured file: 4 GiB
inline constexpr std::size_t max_plist_payload = 1u << 20;  // control payload: 1 MiB
inline constexpr std::size_t max_jpeg = 8u << 20;           // live-view JPEG: 8 MiB
inline constexpr std::size_t max_chunk = 1u << 20;          // image chunk data: 1 MiB
inline constexpr std::uint32_t max_in_flight = 16;          // start_live_view.MaxInFlight
inline constexpr std::size_t live_view_header_size = 16;
inline constexpr std::size_t image_chunk_header_size = 20;

// --- the properties ------------------------------------------------------------------
// Values are strings in the formats below; allowed lists say which ones a camera takes.
namespace properties_v1 {
inline constexpr std::string_view iso = "iso";  // "auto", "100", "6400"
inline constexpr std::string_view shutter_speed =
    "shutter_speed";                                      // "1/125", "2", "2.5", "bulb", "auto"
inline constexpr std::string_view aperture = "aperture";  // "f/2.8", "f/11", "auto"
inline constexpr std::string_view white_balance = "white_balance";  // "auto", "daylight", "5600K"
inline constexpr std::string_view exposure_compensation =
    "exposure_compensation";                                          // "-1.3", "0", "+0.7"
inline constexpr std::string_view focus_mode = "focus_mode";          // "af-s", "af-c", "manual"
inline constexpr std::string_view image_format = "image_format";      // "jpeg", "raw", "raw+jpeg"
inline constexpr std::string_view live_view_size = "live_view_size";  // "1920x1080"
inline constexpr std::string_view live_view_quality = "live_view_quality";  // "1".."100"
}  // namespace properties_v1
inline constexpr std::string_view known_properties[] = {properties_v1::iso,
                                                        properties_v1::shutter_speed,
                                                        properties_v1::aperture,
                                                        properties_v1::white_balance,
                                                        properties_v1::exposure_compensation,
                                                        properties_v1::focus_mode,
                                                        properties_v1::image_format,
                                                        properties_v1::live_view_size,
                                                        properties_v1::live_view_quality};
bool is_known_property(std::string_view name);

// --- messages ------------------------------------------------------------------------
enum class role : std::uint8_t { camera, controller };  // "camera" / "controller"

struct property {
  std::string name;
  std::string value;                 // current value
  std::vector<std::string> allowed;  // empty: any value of the format (or read-only)
  bool writable = true;
  bool operator==(const property&) const = default;
};

namespace messages {
struct hello {
  std::uint32_t version = protocol_version;
  role sender = role::controller;
  std::string name;                       // "Studio iPhone", "Canon EOS R6"
  std::vector<std::string> capabilities;  // "live_view", "capture", "download", ...
  bool operator==(const hello&) const = default;
};
struct get_properties {
  std::string name;  // empty: all
  bool operator==(const get_properties&) const = default;
};
struct properties {
  std::vector<property> items;
  bool operator==(const properties&) const = default;
};
struct set_property {
  std::string name;
  std::string value;
  bool operator==(const set_property&) const = default;
};
struct property_set {  // after every set: what was asked and what the camera applied
  std::string name;
  std::string requested;
  std::string applied;  // read back from the camera
  bool operator==(const property_set&) const = default;
};
struct capture {
  bool operator==(const capture&) const = default;
};
struct autofocus {
  bool operator==(const autofocus&) const = default;
};
enum class focus_direction : std::uint8_t { near, far };        // "near" / "far"
enum class focus_size : std::uint8_t { small, medium, large };  // "small" / "medium" / "large"
struct focus_step {
  focus_direction direction = focus_direction::near;
  focus_size size = focus_size::small;
  bool operator==(const focus_step&) const = default;
};
struct start_live_view {
  // Frames the camera may send before the controller acknowledges them with
  // live_view_ack, 1..max_in_flight; 0 (absent): no acknowledgements, the connection
  // alone paces the frames.
  std::uint32_t max_in_flight = 0;
  bool operator==(const start_live_view&) const = default;
};
struct stop_live_view {
  bool operator==(const stop_live_view&) const = default;
};
struct live_view_ack {
  std::uint32_t sequence = 0;  // every frame up to this one is handled
  bool operator==(const live_view_ack&) const = default;
  // Whether this ack covers frame `frame`: sequences wrap at 2^32, so they compare as
  // serial numbers (PROTOCOL.md §6.2), within half the range.
  bool covers(std::uint32_t frame) const {
    return static_cast<std::int32_t>(sequence - frame) >= 0;
  }
};
struct download {
  std::uint32_t transfer_id = 0;  // from capture_done; not 0
  std::uint64_t offset = 0;       // resume from here
  bool operator==(const download&) const = default;
};
struct ok {
  bool operator==(const ok&) const = default;
};
struct error {
  error_code code = error_code::internal;  // not 0
  std::string message;                     // readable, for logs and alerts
  bool operator==(const error&) const = default;
};
struct property_changed {
  property item;
  bool operator==(const property_changed&) const = default;
};
struct capture_done {
  std::uint32_t transfer_id = 0;  // not 0
  std::string file_name;          // "IMG_0042.JPG"
  std::uint64_t size = 0;         // bytes
  std::string mime_type;          // "image/jpeg", "image/x-canon-cr3"
  bool operator==(const capture_done&) const = default;
};
struct camera_attached {
  std::string model;   // "Canon EOS R6"
  std::string serial;  // may be empty
  bool operator==(const camera_attached&) const = default;
};
struct camera_lost {
  std::string reason;
  bool operator==(const camera_lost&) const = default;
};
// Live view as this controller gets it, over the last second.
struct live_view_stats {
  double fps = 0;          // frames sent to this controller per second
  double camera_fps = 0;   // frames the camera made per second
  double mean_age_ms = 0;  // capture to delivery (written out; with acks: acknowledged)
  double max_age_ms = 0;
  std::uint64_t delivered = 0;  // frames in the window
  std::uint64_t dropped = 0;    // frames replaced by a newer one before they could go
  bool operator==(const live_view_stats&) const = default;
};
struct live_view_frame {
  std::uint32_t sequence = 0;
  std::uint64_t timestamp_us = 0;  // capture time, camera clock, microseconds
  std::uint16_t width = 0;
  std::uint16_t height = 0;
  std::vector<std::byte> jpeg;  // starts with FF D8
  bool operator==(const live_view_frame&) const = default;
};
struct image_chunk {
  std::uint32_t transfer_id = 0;
  std::uint64_t offset = 0;      // of data in the file
  std::uint64_t total_size = 0;  // of the file; the last chunk ends there
  std::vector<std::byte> data;
  bool operator==(const image_chunk&) const = default;
};
}  // namespace messages

using message =
    std::variant<messages::hello, messages::get_properties, messages::properties,
                 messages::set_property, messages::property_set, messages::capture,
                 messages::autofocus, messages::focus_step, messages::start_live_view,
                 messages::stop_live_view, messages::download, messages::ok, messages::error,
                 messages::property_changed, messages::capture_done, messages::camera_attached,
                 messages::camera_lost, messages::live_view_frame, messages::image_chunk,
                 messages::live_view_ack, messages::live_view_stats>;

frame_type type_of(const message& m);
// "hello", "set_property", ... for logs; "type N" for types not listed.
std::string type_name(std::uint32_t type);

struct decode_error {
  error_code code = error_code::bad_request;
  std::string text;  // "set_property: Value is missing"
  bool operator==(const decode_error&) const = default;
};

// What is wrong with a message (a bound or a value out of range), or nullopt.
std::optional<decode_error> validate(const message& m);

// A complete PeerTalk frame. Throws std::invalid_argument when validate() fails.
std::vector<std::byte> encode(const message& m, std::uint32_t tag);
// The hot path, without copying the bytes into a message first (same checks).
std::vector<std::byte> encode_live_view_frame(std::uint32_t sequence, std::uint64_t timestamp_us,
                                              std::uint16_t width, std::uint16_t height,
                                              std::span<const std::byte> jpeg);
std::vector<std::byte> encode_image_chunk(std::uint32_t tag, std::uint32_t transfer_id,
                                          std::uint64_t offset, std::uint64_t total_size,
                                          std::span<const std::byte> data);

// A frame from peertalk::frame_reader as a message. Unknown frame types give
// error_code::not_supported; everything else wrong gives error_code::bad_request.
// (Type 0, end of stream, is not a message: the caller closes the channel.)
std::variant<message, decode_error> decode(const peertalk::frame& f);

}  // namespace tether::proto::camera
