#include "tools/sim/ptp/nikon_d750.hpp"

namespace tether::sim::ptp {
namespace {

property_desc choice(std::uint16_t code, data_type type, std::int64_t current,
                     std::vector<std::int64_t> values, bool writable = true) {
  property_desc p;
  p.code = code;
  p.type = type;
  p.writable = writable;
  p.factory = current;
  p.current = current;
  p.form = property_desc::form::enumeration;
  p.values = std::move(values);
  return p;
}

property_desc range(std::uint16_t code, data_type type, std::int64_t current, std::int64_t min,
                    std::int64_t max, bool writable) {
  property_desc p;
  p.code = code;
  p.type = type;
  p.writable = writable;
  p.factory = current;
  p.current = current;
  p.form = property_desc::form::range;
  p.min = min;
  p.max = max;
  return p;
}

}  // namespace

camera_description nikon_d750(double live_view_fps) {
  camera_description d;
  d.vendor_extension_id = vendor_nikon;
  d.vendor_extension_desc = "Microsoft.com/DeviceServices: 1.0";
  d.manufacturer = "Nikon Corporation";
  d.model = "D750";
  d.device_version = "V1.10";
  d.serial = "00000000000000000000000003047512";
  // A subset of what a D750 lists: the ones a tethering host uses. With
  // InitiateCaptureRecInMedia libgphoto2 uses Nikon's capture (to SDRAM by default,
  // or to the card), as with the real body; InitiateCapture is there too.
  d.operations = {op::get_device_info,
                  op::open_session,
                  op::close_session,
                  op::get_storage_ids,
                  op::get_storage_info,
                  op::get_num_objects,
                  op::get_object_handles,
                  op::get_object_info,
                  op::get_object,
                  op::delete_object,
                  op::initiate_capture,
                  op::get_device_prop_desc,
                  op::get_device_prop_value,
                  op::set_device_prop_value,
                  op::get_partial_object,
                  op::nikon_af_drive,
                  op::nikon_check_event,
                  op::nikon_device_ready,
                  op::nikon_get_vendor_prop_codes,
                  op::nikon_start_live_view,
                  op::nikon_end_live_view,
                  op::nikon_get_live_view_image,
                  op::nikon_mf_drive,
                  op::nikon_initiate_capture_rec_in_media};
  d.events = {event::object_added, event::device_prop_changed, event::capture_complete,
              event::nikon_object_added_in_sdram, event::nikon_capture_complete_rec_in_sdram};
  d.events_on_interrupt = false;
  d.capture_formats = {format::exif_jpeg};
  d.image_formats = {format::exif_jpeg, format::association};
  using dt = data_type;
  d.properties = {
      range(prop::battery_level, dt::uint8, 80, 1, 100, false),
      // JPEG basic/normal/fine, NEF, NEF + JPEG basic/normal/fine.
      choice(prop::compression_setting, dt::uint8, 2, {0, 1, 2, 4, 5, 6, 7}),
      // Auto, daylight, fluorescent, tungsten, flash, then Nikon's cloudy, shade,
      // colour temperature and preset.
      choice(prop::white_balance, dt::uint16, 2, {2, 4, 5, 6, 7, 0x8010, 0x8011, 0x8012, 0x8013}),
      choice(prop::f_number, dt::uint16, 560,
             {350, 400, 450, 500, 560, 630, 710, 800, 900, 1000, 1100, 1300, 1400, 1600, 1800, 2000,
              2200}),
      // Manual, AF-S, AF-C, AF-A, then manual focus by the switch on the lens.
      choice(prop::focus_mode, dt::uint16, 0x8010, {1, 0x8010, 0x8011, 0x8012}),
      // In 1/10000 s: 1/4000 to 1 s.
      choice(prop::exposure_time, dt::uint32, 80,
             {2,    3,    4,    5,    6,    8,    10,   12,   15,   20,   25,   31,  40,
              50,   62,   80,   100,  125,  166,  200,  250,  333,  400,  500,  666, 769,
              1000, 1250, 1666, 2000, 2500, 3333, 4000, 5000, 6250, 7692, 10000}),
      // The mode dial: M. Read-only, as a dial is.
      choice(prop::exposure_program_mode, dt::uint16, 1, {1, 2, 3, 4}, false),
      choice(prop::exposure_index, dt::uint16, 400,
             {100,  125,  160,  200,  250,  320,  400,  500,  640,  800,   1000,
              1250, 1600, 2000, 2500, 3200, 4000, 5000, 6400, 8000, 10000, 12800}),
      // In 1/1000 EV, thirds from -5 to +5.
      choice(prop::exposure_bias_compensation, dt::int16, 0,
             {-5000, -4666, -4333, -4000, -3666, -3333, -3000, -2666, -2333, -2000, -1666,
              -1333, -1000, -666,  -333,  0,     333,   666,   1000,  1333,  1666,  2000,
              2333,  2666,  3000,  3333,  3666,  4000,  4333,  4666,  5000}),
      range(prop::nikon_live_view_status, dt::uint8, 0, 0, 1, false),
  };
  property_desc prohibit;  // no reason not to start live view
  prohibit.code = prop::nikon_live_view_prohibit_condition;
  prohibit.type = dt::uint32;
  prohibit.writable = false;
  d.properties.push_back(prohibit);
  d.storage_label = "NIKON D750  [Slot 1]";
  d.folder = "100NCD750";
  d.file_prefix = "DSC_";
  d.live_view_fps = live_view_fps;
  return d;
}

}  // namespace tether::sim::ptp
