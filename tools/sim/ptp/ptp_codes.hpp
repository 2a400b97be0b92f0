#pragma once
// PTP (ISO 15740) numbers the virtual camera speaks: container types, operation,
// response, event, property and data type codes, plus the Nikon vendor extension's.
// Names follow the standard's own.
#include <cstdint>

namespace tether::sim::ptp {

enum class container_type : std::uint16_t { command = 1, data = 2, response = 3, event = 4 };

// Every container starts with length u32, type u16, code u16, transaction id u32.
inline constexpr std::size_t header_size = 12;

namespace op {
inline constexpr std::uint16_t get_device_info = 0x1001;
inline constexpr std::uint16_t open_session = 0x1002;
inline constexpr std::uint16_t close_session = 0x1003;
inline constexpr std::uint16_t get_storage_ids = 0x1004;
inline constexpr std::uint16_t get_storage_info = 0x1005;
inline constexpr std::uint16_t get_num_objects = 0x1006;
inline constexpr std::uint16_t get_object_handles = 0x1007;
inline constexpr std::uint16_t get_object_info = 0x1008;
inline constexpr std::uint16_t get_object = 0x1009;
inline constexpr std::uint16_t get_thumb = 0x100a;
inline constexpr std::uint16_t delete_object = 0x100b;
inline constexpr std::uint16_t initiate_capture = 0x100e;
inline constexpr std::uint16_t get_device_prop_desc = 0x1014;
inline constexpr std::uint16_t get_device_prop_value = 0x1015;
inline constexpr std::uint16_t set_device_prop_value = 0x1016;
inline constexpr std::uint16_t get_partial_object = 0x101b;
// Nikon
inline constexpr std::uint16_t nikon_af_drive = 0x90c1;  // no params; DeviceReady tells the end
inline constexpr std::uint16_t nikon_check_event = 0x90c7;
inline constexpr std::uint16_t nikon_device_ready = 0x90c8;
inline constexpr std::uint16_t nikon_get_vendor_prop_codes = 0x90ca;
inline constexpr std::uint16_t nikon_start_live_view = 0x9201;
inline constexpr std::uint16_t nikon_end_live_view = 0x9202;
inline constexpr std::uint16_t nikon_get_live_view_image = 0x9203;
// params: 1 toward near / 2 toward infinity, then the amount in drive steps
inline constexpr std::uint16_t nikon_mf_drive = 0x9204;
// params: 0xfffffffe autofocus first / 0xffffffff not; 1 to SDRAM / 0 to the card
inline constexpr std::uint16_t nikon_initiate_capture_rec_in_media = 0x9207;
}  // namespace op

namespace rc {
inline constexpr std::uint16_t ok = 0x2001;
inline constexpr std::uint16_t general_error = 0x2002;
inline constexpr std::uint16_t session_not_open = 0x2003;
inline constexpr std::uint16_t invalid_transaction_id = 0x2004;
inline constexpr std::uint16_t operation_not_supported = 0x2005;
inline constexpr std::uint16_t parameter_not_supported = 0x2006;
inline constexpr std::uint16_t invalid_storage_id = 0x2008;
inline constexpr std::uint16_t invalid_object_handle = 0x2009;
inline constexpr std::uint16_t device_prop_not_supported = 0x200a;
inline constexpr std::uint16_t invalid_object_format_code = 0x200b;
inline constexpr std::uint16_t device_busy = 0x2019;
inline constexpr std::uint16_t invalid_device_prop_format = 0x201b;
inline constexpr std::uint16_t invalid_device_prop_value = 0x201c;
inline constexpr std::uint16_t invalid_parameter = 0x201d;
inline constexpr std::uint16_t session_already_open = 0x201e;
inline constexpr std::uint16_t access_denied = 0x200f;
inline constexpr std::uint16_t nikon_out_of_focus = 0xa002;
inline constexpr std::uint16_t nikon_not_live_view = 0xa00b;
inline constexpr std::uint16_t nikon_mf_drive_step_end = 0xa00c;  // the lens hit its limit
}  // namespace rc

namespace event {
inline constexpr std::uint16_t object_added = 0x4002;
inline constexpr std::uint16_t device_prop_changed = 0x4006;
inline constexpr std::uint16_t capture_complete = 0x400d;
inline constexpr std::uint16_t nikon_object_added_in_sdram = 0xc101;
inline constexpr std::uint16_t nikon_capture_complete_rec_in_sdram = 0xc102;
}  // namespace event

namespace prop {
inline constexpr std::uint16_t battery_level = 0x5001;
inline constexpr std::uint16_t image_size = 0x5003;
inline constexpr std::uint16_t compression_setting = 0x5004;
inline constexpr std::uint16_t white_balance = 0x5005;
inline constexpr std::uint16_t f_number = 0x5007;
inline constexpr std::uint16_t focus_mode = 0x500a;
inline constexpr std::uint16_t exposure_time = 0x500d;
inline constexpr std::uint16_t exposure_program_mode = 0x500e;
inline constexpr std::uint16_t exposure_index = 0x500f;
inline constexpr std::uint16_t exposure_bias_compensation = 0x5010;
// Nikon
inline constexpr std::uint16_t nikon_live_view_status = 0xd1a2;
inline constexpr std::uint16_t nikon_live_view_prohibit_condition = 0xd1a4;
}  // namespace prop

// Data type codes of property values.
enum class data_type : std::uint16_t {
  int8 = 1,
  uint8 = 2,
  int16 = 3,
  uint16 = 4,
  int32 = 5,
  uint32 = 6,
  int64 = 7,
  uint64 = 8,
  string = 0xffff,
};

namespace format {
inline constexpr std::uint16_t association = 0x3001;  // a folder
inline constexpr std::uint16_t exif_jpeg = 0x3801;
}  // namespace format

inline constexpr std::uint32_t vendor_nikon = 0x0000000a;
// Where a Nikon keeps a picture taken to SDRAM until the host fetches it.
inline constexpr std::uint32_t nikon_sdram_object = 0xffff0001;

}  // namespace tether::sim::ptp
