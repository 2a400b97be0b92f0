#pragma once
// A PTP camera's protocol engine without any I/O: container bytes from the host's bulk
// OUT pipe go in, container bytes for the bulk IN pipe and event containers for the
// interrupt pipe come out. Time is passed in, so tests drive it deterministically.
//
// It answers the standard session, storage, object and property operations, capture
// (InitiateCapture making a new JPEG with ObjectAdded and CaptureComplete events) and,
// for a Nikon body, the vendor operations libgphoto2's Nikon driver uses (vendor
// property codes, CheckEvent, DeviceReady, live view). Operations the description does
// not advertise are answered OperationNotSupported, as a camera does.
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "tools/sim/ptp/ptp_container.hpp"

namespace tether::sim::ptp {

// One device property: integer valued (every property a DSLR's exposure uses is).
struct property_desc {
  std::uint16_t code = 0;
  data_type type = data_type::uint16;
  bool writable = true;
  std::int64_t factory = 0;
  std::int64_t current = 0;
  enum class form : std::uint8_t { none = 0, range = 1, enumeration = 2 } form = form::none;
  std::vector<std::int64_t> values;  // enumeration
  std::int64_t min = 0, max = 0, step = 1;
  bool allows(std::int64_t v) const;
};

// Who the camera is and what it can do: what GetDeviceInfo reports.
struct camera_description {
  std::uint32_t vendor_extension_id = 0;
  std::string vendor_extension_desc;
  std::string manufacturer, model, device_version, serial;
  std::vector<std::uint16_t> operations;
  std::vector<std::uint16_t> events;
  std::vector<std::uint16_t> capture_formats;
  std::vector<std::uint16_t> image_formats;
  // Standard properties go in DeviceInfo; vendor ones (Nikon) only in the answer to
  // GetVendorPropCodes, as the real bodies do.
  std::vector<property_desc> properties;
  std::uint32_t storage_id = 0x00010001;
  std::string storage_label;
  std::string folder;       // where captures go, inside DCIM: "100NCD750"
  std::string file_prefix;  // "DSC_"
  double live_view_fps = 30;
  // Events on the interrupt pipe. Nikon DSLRs queue them for the CheckEvent poll
  // instead, and libgphoto2 reads only that once the poll works.
  bool events_on_interrupt = true;
};

class ptp_responder {
 public:
  using clock = std::chrono::steady_clock;
  // Makes the JPEG for capture number `shot` (1, 2, ...) / live-view frame `frame`.
  struct picture_source {
    std::function<bytes(std::uint64_t shot)> capture;
    std::function<bytes(std::uint64_t frame)> live_view;
  };

  ptp_responder(camera_description d, picture_source pictures);

  // Bytes the host wrote to the bulk OUT pipe (any split, zero-length is fine).
  void receive(std::span<const std::byte> bulk_out, clock::time_point now);

  // Bulk IN: containers are sent whole, oldest first; a live-view frame is not ready
  // before the camera has made it.
  bool in_pending() const { return !in_.empty(); }
  std::optional<clock::time_point> in_ready_at() const;
  // The front container's bytes not yet sent; consume() after sending some.
  std::span<const std::byte> in_front() const;
  std::size_t in_front_length() const { return in_.empty() ? 0 : in_.front().wire.size(); }
  void consume(std::size_t n);

  // One event container for the interrupt pipe, if one waits.
  std::optional<bytes> take_event();
  bool event_pending() const { return d_.events_on_interrupt && !events_.empty(); }

  // PTP class request "Device Reset": the session ends, half-received data is gone.
  void reset();
  // The next `n` capture and set-property commands answer DeviceBusy, as a body still
  // writing the last picture does. (libgphoto2 retries Nikon's capture command itself,
  // up to about 100 times, before it reports the camera busy.)
  void set_busy(int n) { busy_ = n; }
  // A new live-view frame rate, from `now` on (tests measure what a host can fetch
  // from a camera that is never the bottleneck, then at a camera's real pace).
  void set_live_view_fps(double fps, clock::time_point now);
  double live_view_fps() const { return d_.live_view_fps; }
  bool session_open() const { return session_ != 0; }

  // Called with each capture's file name and bytes as the camera stores it.
  std::function<void(const std::string& name, const bytes& data)> on_captured;

  // For tests and status lines.
  std::uint64_t live_view_frames_served() const { return frames_served_; }
  // Frames the sensor made that no GetLiveViewImage came for in time.
  std::uint64_t live_view_frames_skipped() const { return frames_skipped_; }
  std::uint64_t shots() const { return shots_; }
  // The lens: a manual-focus position from 0 (nearest) to focus_steps (infinity), and
  // how many autofocus drives ran.
  static constexpr std::uint32_t focus_steps = 10000;
  std::uint32_t focus_position() const { return focus_position_; }
  std::uint64_t af_drives() const { return af_drives_; }
  const property_desc* find_property(std::uint16_t code) const;

 private:
  struct object {
    std::uint32_t parent = 0;
    std::uint16_t format = 0;
    std::string name;
    bytes data;
  };
  struct reply {
    std::optional<bytes> data;  // the data phase, if the operation has one
    std::uint16_t code = rc::ok;
    std::vector<std::uint32_t> params;
    clock::time_point ready_at{};
  };

  void handle(const container& command, const bytes* data_in, clock::time_point now);
  reply dispatch(const container& command, const bytes* data_in, clock::time_point now);
  bool advertised(std::uint16_t op) const;
  bytes device_info() const;
  bytes storage_info() const;
  bytes object_info(std::uint32_t handle, const object& o) const;
  bytes prop_desc(const property_desc& p) const;
  property_desc* property(std::uint16_t code);
  reply set_property(std::uint16_t code, const bytes& data);
  reply capture(bool to_sdram);
  reply live_view_image(clock::time_point now);
  void queue_event(std::uint16_t code, std::uint32_t param);

  camera_description d_;
  picture_source pictures_;
  container_assembler assembler_;
  std::optional<container> awaiting_data_;  // a command whose data phase is still coming
  std::uint32_t session_ = 0;
  struct pending {
    bytes wire;
    std::size_t sent = 0;
    clock::time_point ready_at;
  };
  std::deque<pending> in_;
  std::deque<std::pair<std::uint16_t, std::uint32_t>> events_;
  std::map<std::uint32_t, object> objects_;
  std::uint32_t next_handle_ = 0x100;
  std::uint64_t shots_ = 0;
  int busy_ = 0;
  bool live_view_ = false;
  int not_ready_ = 0;  // DeviceReady answers Busy this many more times (mirror, shutter)
  std::uint16_t ready_result_ = rc::ok;  // what DeviceReady answers once it is ready
  std::uint32_t focus_position_ = focus_steps / 2;
  std::uint64_t af_drives_ = 0;
  clock::time_point live_view_start_{};
  std::uint64_t frame_base_ = 0;  // frames numbered before live_view_start_
  std::uint64_t last_frame_ = 0;  // index of the frame served last (0: none yet)
  std::uint64_t frames_served_ = 0;
  std::uint64_t frames_skipped_ = 0;
};

}  // namespace tether::sim::ptp
