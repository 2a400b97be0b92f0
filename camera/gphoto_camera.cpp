#include "camera/gphoto_camera.hpp"

#include <gphoto2/gphoto2.h>
#include <libusb.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>

#include "camera/gphoto_values.hpp"
#include "camera/jpeg.hpp"

namespace tether::camera {

namespace {

// The camera protocol's name -> libgphoto2 widget names to try, in order. Values are
// translated to the protocol's formats (gphoto_values.hpp).
struct mapping {
  const char* name;
  std::array<const char*, 3> widgets;
};
constexpr mapping settings[] = {
    {"iso", {"iso", "isospeed", nullptr}},
    {"shutter_speed", {"shutterspeed", "shutterspeed2", "eos-shutterspeed"}},
    {"aperture", {"aperture", "f-number", "eos-aperture"}},
    {"white_balance", {"whitebalance", nullptr, nullptr}},
    {"exposure_compensation", {"exposurecompensation", "exposurecompensation2", nullptr}},
    {"focus_mode", {"focusmode", "focusmode2", nullptr}},
    {"image_format", {"imageformat", "imagequality", nullptr}},
};

const mapping* find_mapping(const std::string& name) {
  for (const auto& m : settings)
    if (name == m.name) return &m;
  return nullptr;
}

struct widget_deleter {
  void operator()(CameraWidget* w) const { gp_widget_free(w); }
};
using widget_ptr = std::unique_ptr<CameraWidget, widget_deleter>;

// The widget's value as text, whatever its type.
std::string value_of(CameraWidget* w) {
  CameraWidgetType type{};
  gp_widget_get_type(w, &type);
  char buf[64];
  switch (type) {
    case GP_WIDGET_TEXT:
    case GP_WIDGET_RADIO:
    case GP_WIDGET_MENU: {
      const char* v = nullptr;
      gp_widget_get_value(w, &v);
      return v != nullptr ? v : "";
    }
    case GP_WIDGET_RANGE: {
      float v = 0;
      gp_widget_get_value(w, &v);
      std::snprintf(buf, sizeof buf, "%g", static_cast<double>(v));
      return buf;
    }
    case GP_WIDGET_TOGGLE:
    case GP_WIDGET_DATE: {
      int v = 0;
      gp_widget_get_value(w, &v);
      return std::to_string(v);
    }
    default: return "";
  }
}

// The widget's choices as libgphoto2 words them (radio and menu widgets only).
std::vector<std::string> choices_of(CameraWidget* w) {
  std::vector<std::string> out;
  CameraWidgetType type{};
  gp_widget_get_type(w, &type);
  if (type != GP_WIDGET_RADIO && type != GP_WIDGET_MENU) return out;
  for (int i = 0, n = gp_widget_count_choices(w); i < n; ++i) {
    const char* c = nullptr;
    if (gp_widget_get_choice(w, i, &c) == GP_OK && c != nullptr) out.emplace_back(c);
  }
  return out;
}

property to_property(const std::string& name, CameraWidget* w) {
  property p;
  p.name = name;
  p.value = protocol_value(name, value_of(w));
  int ro = 0;
  gp_widget_get_readonly(w, &ro);
  p.read_only = ro != 0;
  for (const auto& c : choices_of(w)) {
    std::string v = protocol_value(name, c);
    if (std::find(p.allowed.begin(), p.allowed.end(), v) == p.allowed.end())
      p.allowed.push_back(std::move(v));
  }
  return p;
}

// The widget choice meaning `value` in the protocol's format (or written as libgphoto2
// writes it); empty when the camera offers none.
std::string choice_for(const std::string& name, CameraWidget* w, const std::string& value) {
  for (const auto& c : choices_of(w))
    if (protocol_value(name, c) == value || c == value) return c;
  return {};
}

// Apple devices show a PTP interface (photo import), and libgphoto2 lists an iPhone
// as a camera. On a tether board the phone is always plugged in: never take it.
constexpr int apple_usb_vendor = 0x05ac;

// Sets a widget from text, converting to the widget's own type.
int set_from_text(CameraWidget* w, const std::string& value) {
  CameraWidgetType type{};
  gp_widget_get_type(w, &type);
  switch (type) {
    case GP_WIDGET_RANGE: {
      const float v = std::strtof(value.c_str(), nullptr);
      return gp_widget_set_value(w, &v);
    }
    case GP_WIDGET_TOGGLE:
    case GP_WIDGET_DATE: {
      const int v = std::atoi(value.c_str());
      return gp_widget_set_value(w, &v);
    }
    default: return gp_widget_set_value(w, value.c_str());
  }
}

// The USB devices present as libusb sees them (bus, address, vendor:product): a
// replugged camera is a new entry (the kernel gives it a new address), and a camera
// plugged where none was changes the list. Empty when libusb cannot list devices.
std::string usb_devices() {
  libusb_context* ctx = nullptr;
  if (libusb_init(&ctx) != 0) return {};
  libusb_device** list = nullptr;
  const ssize_t n = libusb_get_device_list(ctx, &list);
  std::string out;
  for (ssize_t i = 0; i < n; ++i) {
    libusb_device_descriptor d{};
    libusb_get_device_descriptor(list[i], &d);
    char entry[32];
    std::snprintf(entry, sizeof entry, "%u-%u:%04x:%04x;", libusb_get_bus_number(list[i]),
                  libusb_get_device_address(list[i]), d.idVendor, d.idProduct);
    out += entry;
  }
  if (n >= 0) libusb_free_device_list(list, 1);
  libusb_exit(ctx);
  return out;
}

const char* const no_camera_found =
    "no camera found by libgphoto2: is it connected and switched on?";
const char* const claimed_message =
    "another program is using the camera (another gphoto2, or a desktop's photo import "
    "such as gvfs-gphoto2-volume-monitor): close it, and tether takes the camera within a "
    "few seconds";

}  // namespace

struct gphoto_camera::state {
  GPContext* context = nullptr;
  Camera* camera = nullptr;
  // libgphoto2 says what went wrong in the context's error texts (all of them since the
  // current call began): a PTP DeviceBusy on a setting comes back as
  // GP_ERROR_BAD_PARAMETERS, with "PTP Device Busy" only in the first text.
  std::string last_error;
};

gphoto_camera::gphoto_camera() : s_(std::make_unique<state>()) {
  s_->context = gp_context_new();
  gp_context_set_error_func(
      s_->context,
      [](GPContext*, const char* text, void* data) {
        auto& all = static_cast<state*>(data)->last_error;
        if (text != nullptr) all += (all.empty() ? "" : "; ") + std::string(text);
      },
      s_.get());
}

gphoto_camera::~gphoto_camera() {
  close();
  if (s_->context != nullptr) gp_context_unref(s_->context);
}

std::string gphoto_camera::model() const { return model_; }

void gphoto_camera::open() {
  s_->last_error.clear();
  if (s_->camera != nullptr) return;
  const auto now = std::chrono::steady_clock::now();
  // Listing USB devices costs a libusb start (a fraction of a millisecond): at most
  // four times a second, however often the service asks.
  if (now - devices_listed_at_ > std::chrono::milliseconds(250)) {
    devices_ = usb_devices();
    devices_listed_at_ = now;
  }
  if (now < claimed_until_) throw camera_error(camera_error::kind::failed, claimed_message);
  if (failed_probe_at_ != std::chrono::steady_clock::time_point{} &&
      devices_ == failed_probe_devices_ &&
      (!devices_.empty() || now - failed_probe_at_ < std::chrono::seconds(30)))
    throw camera_error(camera_error::kind::no_camera, no_camera_found);
  // Probing: remember the list as it is now, not as it was up to 250 ms ago.
  devices_ = usb_devices();
  devices_listed_at_ = now;
  const std::string devices = devices_;
  const auto give_up = [&](const char* why) {
    failed_probe_devices_ = devices;
    failed_probe_at_ = now;
    throw camera_error(camera_error::kind::no_camera, why);
  };
  // Detection by hand rather than gp_camera_init's "first camera found": that could be
  // the phone.
  CameraAbilitiesList* abilities = nullptr;
  GPPortInfoList* ports = nullptr;
  CameraList* found = nullptr;
  gp_abilities_list_new(&abilities);
  gp_port_info_list_new(&ports);
  gp_list_new(&found);
  const std::unique_ptr<CameraAbilitiesList, int (*)(CameraAbilitiesList*)> a_owner(
      abilities, gp_abilities_list_free);
  const std::unique_ptr<GPPortInfoList, int (*)(GPPortInfoList*)> p_owner(ports,
                                                                          gp_port_info_list_free);
  const std::unique_ptr<CameraList, int (*)(CameraList*)> l_owner(found, gp_list_free);
  if (gp_abilities_list_load(abilities, s_->context) < GP_OK ||
      gp_port_info_list_load(ports) < GP_OK ||
      gp_abilities_list_detect(abilities, ports, found, s_->context) < GP_OK)
    give_up(no_camera_found);
  CameraAbilities chosen{};
  std::string port;
  for (int i = 0, n = gp_list_count(found); i < n && port.empty(); ++i) {
    const char* name = nullptr;
    const char* path = nullptr;
    gp_list_get_name(found, i, &name);
    gp_list_get_value(found, i, &path);
    const int index = name != nullptr ? gp_abilities_list_lookup_model(abilities, name) : -1;
    if (index < 0 || path == nullptr ||
        gp_abilities_list_get_abilities(abilities, index, &chosen) < GP_OK)
      continue;
    if (chosen.usb_vendor == apple_usb_vendor) continue;
    port = path;
  }
  if (port.empty()) give_up(no_camera_found);
  GPPortInfo info{};
  const int at = gp_port_info_list_lookup_path(ports, port.c_str());
  if (at < GP_OK || gp_port_info_list_get_info(ports, at, &info) < GP_OK) give_up(no_camera_found);
  Camera* c = nullptr;
  check(gp_camera_new(&c), "starting libgphoto2");
  gp_camera_set_abilities(c, chosen);
  gp_camera_set_port_info(c, info);
  if (const int r = gp_camera_init(c, s_->context); r < GP_OK) {
    gp_camera_free(c);
    if (r == GP_ERROR_IO_USB_CLAIM || r == GP_ERROR_IO_LOCK) {
      // Someone else has it; ask again in a few seconds, not on every call (a probe
      // costs milliseconds and leaks inside libgphoto2).
      claimed_until_ = now + std::chrono::seconds(3);
      throw camera_error(camera_error::kind::failed, claimed_message);
    }
    if (r == GP_ERROR_MODEL_NOT_FOUND || r == GP_ERROR_IO_USB_FIND) give_up(no_camera_found);
    failed_probe_devices_ = devices;
    failed_probe_at_ = now;
    fail(r, std::string("opening the ") + chosen.model);
  }
  s_->camera = c;
  failed_probe_at_ = {};
  model_ = std::string(chosen.model) + " (libgphoto2)";
}

void gphoto_camera::close() {
  if (s_->camera == nullptr) return;
  gp_camera_exit(s_->camera, s_->context);
  gp_camera_free(s_->camera);
  s_->camera = nullptr;
  previewing_ = false;
}

void gphoto_camera::fail(int result, const std::string& doing) {
  const std::string detail = s_->last_error;
  const std::string what =
      doing + ": " + gp_result_as_string(result) + (detail.empty() ? "" : " (" + detail + ")");
  const bool busy = result == GP_ERROR_CAMERA_BUSY ||
                    detail.find("Device Busy") != std::string::npos ||
                    detail.find("0x2019") != std::string::npos;
  if (busy) throw camera_error(camera_error::kind::busy, what);
  switch (result) {
    case GP_ERROR_IO_USB_CLAIM:
    case GP_ERROR_IO_LOCK:
      close();
      claimed_until_ = std::chrono::steady_clock::now() + std::chrono::seconds(3);
      throw camera_error(camera_error::kind::failed, claimed_message);
    case GP_ERROR_MODEL_NOT_FOUND:
    case GP_ERROR_IO_USB_FIND:
    case GP_ERROR_IO:
    case GP_ERROR_IO_READ:
    case GP_ERROR_IO_WRITE:
    case GP_ERROR_TIMEOUT:
      // The camera went away or stopped answering: reopen on the next call.
      close();
      throw camera_error(camera_error::kind::no_camera,
                         what + ": the camera went away: is it still connected and switched on?");
    case GP_ERROR_NOT_SUPPORTED:
      throw camera_error(camera_error::kind::unsupported, what + ": this camera cannot do that");
    case GP_ERROR_BAD_PARAMETERS: throw camera_error(camera_error::kind::bad_value, what);
    default: throw camera_error(camera_error::kind::failed, what);
  }
}

std::vector<property> gphoto_camera::list_properties() {
  open();
  CameraWidget* root = nullptr;
  check(gp_camera_get_config(s_->camera, &root, s_->context), "reading the camera's settings");
  const widget_ptr owner(root);
  std::vector<property> out;
  for (const auto& m : settings) {
    for (const char* w : m.widgets) {
      CameraWidget* child = nullptr;
      if (w != nullptr && gp_widget_get_child_by_name(root, w, &child) == GP_OK) {
        out.push_back(to_property(m.name, child));
        break;
      }
    }
  }
  return out;
}

property gphoto_camera::set_property(const std::string& name, const std::string& value) {
  const mapping* m = find_mapping(name);
  if (m == nullptr)
    throw camera_error(camera_error::kind::unknown_property,
                       "tether has no setting called '" + name + "'");
  open();
  for (const char* w : m->widgets) {
    CameraWidget* widget = nullptr;
    if (w == nullptr || gp_camera_get_single_config(s_->camera, w, &widget, s_->context) != GP_OK)
      continue;
    const widget_ptr owner(widget);
    property before = to_property(name, widget);
    if (before.read_only)
      throw camera_error(camera_error::kind::bad_value,
                         name +
                             " is read-only in the camera's current mode (the mode dial "
                             "decides it)");
    std::string raw = value;
    if (!before.allowed.empty()) {
      raw = choice_for(name, widget, value);
      if (raw.empty()) {
        std::string list;
        for (const auto& a : before.allowed) list += (list.empty() ? "" : ", ") + a;
        throw camera_error(camera_error::kind::bad_value,
                           name + " cannot be '" + value + "' on this camera; it takes " + list);
      }
    }
    check(set_from_text(widget, raw), "setting " + name);
    check(gp_camera_set_single_config(s_->camera, w, widget, s_->context), "setting " + name);
    // Read back: the body may round the value or refuse it in its current mode.
    CameraWidget* after = nullptr;
    check(gp_camera_get_single_config(s_->camera, w, &after, s_->context),
          "reading " + name + " back");
    const widget_ptr after_owner(after);
    return to_property(name, after);
  }
  throw camera_error(camera_error::kind::unknown_property,
                     "this camera has no " + name + " setting that libgphoto2 knows");
}

void gphoto_camera::drain_events() {
  // Bodies report every setting change as an event (PTP DevicePropChanged), the ones
  // tether made too. libgphoto2's Nikon capture handles queued events one per turn of
  // its wait loop, with a growing back-off: five pending changes cost the next capture
  // about 0.7 s. Taking them here first costs one poll when there are none.
  for (int i = 0; i < 32; ++i) {
    CameraEventType type{};
    void* data = nullptr;
    const int r = gp_camera_wait_for_event(s_->camera, 0, &type, &data, s_->context);
    std::free(data);  // a text or a CameraFilePath, malloc'd by libgphoto2; or null
    if (r < GP_OK || type == GP_EVENT_TIMEOUT) return;
  }
}

captured_file gphoto_camera::capture() {
  open();
  drain_events();
  CameraFilePath path{};
  check(gp_camera_capture(s_->camera, GP_CAPTURE_IMAGE, &path, s_->context), "taking a picture");
  previewing_ = false;  // a capture ends live view on most bodies
  CameraFile* file = nullptr;
  check(gp_file_new(&file), "allocating a file");
  const std::unique_ptr<CameraFile, int (*)(CameraFile*)> owner(file, gp_file_unref);
  check(gp_camera_file_get(s_->camera, path.folder, path.name, GP_FILE_TYPE_NORMAL, file,
                           s_->context),
        std::string("downloading ") + path.name);
  const char* data = nullptr;
  unsigned long size = 0;
  check(gp_file_get_data_and_size(file, &data, &size), "reading the downloaded file");
  captured_file out;
  out.name = path.name;
  const char* mime = nullptr;
  out.mime = gp_file_get_mime_type(file, &mime) == GP_OK && mime != nullptr ? mime : "image/jpeg";
  const auto* first = reinterpret_cast<const std::byte*>(data);
  out.bytes.assign(first, first + size);
  // The card keeps its copy: a photographer expects the camera to have the picture.
  return out;
}

void gphoto_camera::autofocus() {
  open();
  CameraWidget* w = nullptr;
  check(gp_camera_get_single_config(s_->camera, "autofocusdrive", &w, s_->context),
        "finding the autofocus control");
  const widget_ptr owner(w);
  const int on = 1;
  check(gp_widget_set_value(w, &on), "starting autofocus");
  check(gp_camera_set_single_config(s_->camera, "autofocusdrive", w, s_->context),
        "starting autofocus");
}

void gphoto_camera::focus_step(focus_direction d, int steps) {
  open();
  CameraWidget* w = nullptr;
  check(gp_camera_get_single_config(s_->camera, "manualfocusdrive", &w, s_->context),
        "finding the manual focus drive (it works in live view only)");
  const widget_ptr owner(w);
  CameraWidgetType type{};
  gp_widget_get_type(w, &type);
  const int size = steps < 1 ? 1 : steps > 3 ? 3 : steps;
  if (type == GP_WIDGET_RANGE) {
    // Nikon: a signed number of motor steps.
    const float v = static_cast<float>((d == focus_direction::near ? -1 : 1) * size * 100);
    check(gp_widget_set_value(w, &v), "moving focus");
  } else {
    // Canon: choices "Near 1".."Near 3", "Far 1".."Far 3".
    const std::string choice =
        std::string(d == focus_direction::near ? "Near " : "Far ") + std::to_string(size);
    check(gp_widget_set_value(w, choice.c_str()), "moving focus");
  }
  const int result = gp_camera_set_single_config(s_->camera, "manualfocusdrive", w, s_->context);
  if (result == GP_ERROR && !previewing_) {
    // Nikon and Canon bodies drive the lens only with the mirror up; say what to do
    // rather than pass on the driver's words alone.
    throw camera_error(camera_error::kind::unsupported,
                       "manual focus needs live view on this camera: start live view, then "
                       "step focus (the camera said: " +
                           std::string(gp_result_as_string(result)) +
                           (s_->last_error.empty() ? "" : ", " + s_->last_error) + ")");
  }
  check(result, "moving focus");
}

preview_frame gphoto_camera::capture_preview() {
  open();
  CameraFile* file = nullptr;
  check(gp_file_new(&file), "allocating a file");
  const std::unique_ptr<CameraFile, int (*)(CameraFile*)> owner(file, gp_file_unref);
  // The first call switches live view on (mirror up on a DSLR); it stays on until
  // end_preview() or a capture.
  check(gp_camera_capture_preview(s_->camera, file, s_->context), "reading a live-view frame");
  previewing_ = true;
  const char* data = nullptr;
  unsigned long size = 0;
  check(gp_file_get_data_and_size(file, &data, &size), "reading the live-view frame");
  preview_frame f;
  f.captured = std::chrono::steady_clock::now();
  const auto* first = reinterpret_cast<const std::byte*>(data);
  f.jpeg.assign(first, first + size);
  // The size is in the JPEG's header (the protocol wants it in every frame); a frame
  // without one is not a JPEG the phone could show.
  if (!jpeg_size(f.jpeg, f.width, f.height) || f.width == 0 || f.height == 0)
    throw camera_error(camera_error::kind::failed, "the camera's live-view frame is not a JPEG (" +
                                                       std::to_string(f.jpeg.size()) + " bytes)");
  return f;
}

void gphoto_camera::end_preview() {
  if (s_->camera == nullptr || !previewing_) return;
  previewing_ = false;
  // Canon and Nikon drop the mirror when "viewfinder" goes to 0; others time out.
  CameraWidget* w = nullptr;
  if (gp_camera_get_single_config(s_->camera, "viewfinder", &w, s_->context) != GP_OK) return;
  const widget_ptr owner(w);
  const int off = 0;
  if (gp_widget_set_value(w, &off) == GP_OK)
    gp_camera_set_single_config(s_->camera, "viewfinder", w, s_->context);
}

}  // namespace tether::camera
