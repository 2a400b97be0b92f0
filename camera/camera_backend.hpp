#pragma once
// What the camera service needs from a camera, whatever drives it: a test pattern
// (tests, demos, boards without a camera) or libgphoto2 (a real DSLR). Every call is
// made from the service's camera thread only, so backends need no locking of their own.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace tether::camera {

// One setting as the camera reports it: the current value and what it would accept.
// Values are strings, as cameras show them ("400", "1/125", "f/5.6", "Auto").
struct property {
  std::string name;  // the camera protocol's name: iso, shutter_speed, aperture, ...
  std::string value;
  std::vector<std::string> allowed;  // empty: any value (or the camera does not say)
  bool read_only = false;
};

// A file the camera made, downloaded in full.
struct captured_file {
  std::string name;  // as the camera names it, e.g. IMG_0042.JPG
  std::string mime;  // image/jpeg, image/x-canon-cr2, ...
  std::vector<std::byte> bytes;
};

// One live-view frame. `captured` is when the backend handed it over, so the age a
// controller sees is measured from the camera, not from the queue.
struct preview_frame {
  std::vector<std::byte> jpeg;
  std::uint32_t width = 0;
  std::uint32_t height = 0;
  std::uint64_t number = 0;  // set by the service: 1, 2, 3 ... per live-view session
  std::chrono::steady_clock::time_point captured;
};
// Frames are shared, read-only, between the camera thread and every consumer.
using frame_ptr = std::shared_ptr<const preview_frame>;

enum class focus_direction { near, far };

// What went wrong, in words for the user, with a kind the service acts on: `busy` is
// retried with back-off; the others go back to the controller as they are.
class camera_error : public std::runtime_error {
 public:
  enum class kind {
    busy,              // the camera is doing something else; try again shortly
    no_camera,         // nothing connected, or it went away
    unknown_property,  // no such setting on this camera
    bad_value,         // the setting exists but refuses this value
    unsupported,       // this camera cannot do that (e.g. no manual focus drive)
    failed,            // anything else
  };
  camera_error(kind k, const std::string& what) : std::runtime_error(what), kind_(k) {}
  kind which() const { return kind_; }

 private:
  kind kind_;
};

const char* to_string(camera_error::kind k);

class camera_backend {
 public:
  virtual ~camera_backend() = default;
  // A short description for logs and the hello reply: "test pattern 1920x1080",
  // "Canon EOS 5D Mark IV (libgphoto2)".
  virtual std::string model() const = 0;
  virtual std::vector<property> list_properties() = 0;
  // Sets and reads the value back: the camera may round ("1/120" -> "1/125") or
  // ignore the request, and the controller should show what is really in effect.
  virtual property set_property(const std::string& name, const std::string& value) = 0;
  virtual captured_file capture() = 0;
  virtual void autofocus() = 0;
  // `steps` is the size of the move in the camera's units (1 fine, 2 medium, 3 coarse
  // on Canon and Nikon bodies).
  virtual void focus_step(focus_direction d, int steps) = 0;
  // One live-view JPEG. Cameras that need live view switched on do it on the first call
  // and keep it on until end_preview().
  virtual preview_frame capture_preview() = 0;
  virtual void end_preview() {}
  // Lets the camera go (its USB session closed), so that another program may use it
  // while nobody here does; the next call opens it again.
  virtual void release() {}
};

}  // namespace tether::camera
