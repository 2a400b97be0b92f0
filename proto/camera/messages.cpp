#include "proto/camera/messages.hpp"

#include <plist/plist.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "base/byte_order.hpp"
#include "proto/camera/message_fields.hpp"
#include "proto/plist_util.hpp"

namespace tether::proto::camera {
namespace {

using namespace messages;
using detail::checker;

constexpr std::string_view bplist_magic = "bplist00";

void check_live_view(checker& c, std::uint16_t width, std::uint16_t height,
                     std::span<const std::byte> jpeg) {
  if (width == 0 || height == 0) c.fail("width and height must not be 0");
  c.blob("JPEG", jpeg.size(), max_jpeg);
  if (jpeg.size() < 2 || jpeg[0] != std::byte{0xFF} || jpeg[1] != std::byte{0xD8})
    c.fail("JPEG does not start with FF D8");
}

void check_chunk(checker& c, std::uint32_t transfer_id, std::uint64_t offset,
                 std::uint64_t total_size, std::size_t size) {
  if (transfer_id == 0) c.fail("transfer id must not be 0");
  c.blob("chunk data", size, max_chunk);
  if (total_size > max_file_size)
    c.fail("total size " + std::to_string(total_size) + " is more than " +
           std::to_string(max_file_size));
  else if (offset > total_size || size > total_size - offset)
    c.fail("chunk of " + std::to_string(size) + " bytes at offset " + std::to_string(offset) +
           " runs past the total size " + std::to_string(total_size));
  else if (size == 0 && total_size != 0)
    c.fail("chunk is empty (only an empty file has an empty chunk)");
}

// --- encoding -------------------------------------------------------------------------

std::vector<std::byte> plist_frame(frame_type type, std::uint32_t tag, plist_t dict) {
  char* bin = nullptr;
  std::uint32_t len = 0;
  plist_to_bin(dict, &bin, &len);
  plist_free(dict);
  if (bin == nullptr) throw std::runtime_error("libplist could not write a binary plist");
  auto out = peertalk::encode_frame(static_cast<std::uint32_t>(type), tag,
                                    std::as_bytes(std::span(bin, len)));
  plist_to_bin_free(bin);
  return out;
}

void throw_if_invalid(const message& m) {
  if (auto e = validate(m)) throw std::invalid_argument(e->text);
}

bool is_plist_type(frame_type t) {
  const auto v = static_cast<std::uint32_t>(t);
  return (v >= 100 && v <= 113) || (v >= 120 && v <= 124);
}

}  // namespace

std::string to_string(error_code c) {
  switch (c) {
    case error_code::bad_request: return "bad request";
    case error_code::unknown_property: return "unknown property";
    case error_code::value_not_allowed: return "value not allowed";
    case error_code::camera_busy: return "camera busy";
    case error_code::no_camera: return "no camera";
    case error_code::not_supported: return "not supported";
    case error_code::internal: return "internal error";
    case error_code::unknown_transfer: return "unknown transfer";
    case error_code::unsupported_version: return "unsupported version";
  }
  return "error " + std::to_string(static_cast<std::uint32_t>(c));
}

bool is_known_property(std::string_view name) {
  return std::find(std::begin(known_properties), std::end(known_properties), name) !=
         std::end(known_properties);
}

frame_type type_of(const message& m) { return detail::variant_types[m.index()]; }

std::string type_name(std::uint32_t type) {
  switch (static_cast<frame_type>(type)) {
    case frame_type::hello: return "hello";
    case frame_type::get_properties: return "get_properties";
    case frame_type::properties: return "properties";
    case frame_type::set_property: return "set_property";
    case frame_type::property_set: return "property_set";
    case frame_type::capture: return "capture";
    case frame_type::autofocus: return "autofocus";
    case frame_type::focus_step: return "focus_step";
    case frame_type::start_live_view: return "start_live_view";
    case frame_type::stop_live_view: return "stop_live_view";
    case frame_type::download: return "download";
    case frame_type::ok: return "ok";
    case frame_type::error: return "error";
    case frame_type::property_changed: return "property_changed";
    case frame_type::capture_done: return "capture_done";
    case frame_type::camera_attached: return "camera_attached";
    case frame_type::camera_lost: return "camera_lost";
    case frame_type::live_view_frame: return "live_view_frame";
    case frame_type::image_chunk: return "image_chunk";
    case frame_type::live_view_ack: return "live_view_ack";
    case frame_type::live_view_stats: return "live_view_stats";
  }
  if (type == peertalk::end_of_stream) return "end_of_stream";
  return "type " + std::to_string(type);
}

std::optional<decode_error> validate(const message& m) {
  checker c{type_name(static_cast<std::uint32_t>(type_of(m))), {}};
  std::visit(
      [&](const auto& v) {
        using M = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<M, live_view_frame>) {
          check_live_view(c, v.width, v.height, v.jpeg);
        } else if constexpr (std::is_same_v<M, image_chunk>) {
          check_chunk(c, v.transfer_id, v.offset, v.total_size, v.data.size());
        } else {
          detail::check_plist_fields(v, c);
        }
      },
      m);
  return c.error;
}

std::vector<std::byte> encode(const message& m, std::uint32_t tag) {
  throw_if_invalid(m);
  if (const auto* f = std::get_if<live_view_frame>(&m))
    return encode_live_view_frame(f->sequence, f->timestamp_us, f->width, f->height, f->jpeg);
  if (const auto* c = std::get_if<image_chunk>(&m))
    return encode_image_chunk(tag, c->transfer_id, c->offset, c->total_size, c->data);
  plist_t dict = plist_new_dict();
  detail::write_plist_fields(m, dict);
  return plist_frame(type_of(m), tag, dict);
}

std::vector<std::byte> encode_live_view_frame(std::uint32_t sequence, std::uint64_t timestamp_us,
                                              std::uint16_t width, std::uint16_t height,
                                              std::span<const std::byte> jpeg) {
  checker c{"live_view_frame", {}};
  check_live_view(c, width, height, jpeg);
  if (c.error) throw std::invalid_argument(c.error->text);
  const std::size_t payload = live_view_header_size + jpeg.size();
  const auto h = peertalk::encode_header(static_cast<std::uint32_t>(frame_type::live_view_frame),
                                         peertalk::no_tag, static_cast<std::uint32_t>(payload));
  // Built from the header, not inserted into an empty vector: GCC 12 for aarch64 at -O3
  // warns (wrongly) that such an insert overflows.
  std::vector<std::byte> out(h.begin(), h.end());
  out.reserve(peertalk::header_size + payload);
  out.resize(peertalk::header_size + live_view_header_size);
  std::byte* f = out.data() + peertalk::header_size;
  base::store_be32(f, sequence);
  base::store_be64(f + 4, timestamp_us);
  base::store_be16(f + 12, width);
  base::store_be16(f + 14, height);
  out.insert(out.end(), jpeg.begin(), jpeg.end());
  return out;
}

std::vector<std::byte> encode_image_chunk(std::uint32_t tag, std::uint32_t transfer_id,
                                          std::uint64_t offset, std::uint64_t total_size,
                                          std::span<const std::byte> data) {
  checker c{"image_chunk", {}};
  check_chunk(c, transfer_id, offset, total_size, data.size());
  if (c.error) throw std::invalid_argument(c.error->text);
  const std::size_t payload = image_chunk_header_size + data.size();
  const auto h = peertalk::encode_header(static_cast<std::uint32_t>(frame_type::image_chunk), tag,
                                         static_cast<std::uint32_t>(payload));
  // Built from the header, not inserted into an empty vector: GCC 12 for aarch64 at -O3
  // warns (wrongly) that such an insert overflows.
  std::vector<std::byte> out(h.begin(), h.end());
  out.reserve(peertalk::header_size + payload);
  out.resize(peertalk::header_size + image_chunk_header_size);
  std::byte* f = out.data() + peertalk::header_size;
  base::store_be32(f, transfer_id);
  base::store_be64(f + 4, offset);
  base::store_be64(f + 12, total_size);
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

std::variant<message, decode_error> decode(const peertalk::frame& f) {
  const auto type = static_cast<frame_type>(f.type);
  checker c{type_name(f.type), {}};
  const std::span<const std::byte> p = f.payload;
  if (type == frame_type::live_view_frame) {
    if (p.size() < live_view_header_size)
      return decode_error{error_code::bad_request, "live_view_frame: payload of " +
                                                       std::to_string(p.size()) +
                                                       " bytes is shorter than its 16-byte header"};
    live_view_frame m;
    m.sequence = base::load_be32(p.data());
    m.timestamp_us = base::load_be64(p.data() + 4);
    m.width = base::load_be16(p.data() + 12);
    m.height = base::load_be16(p.data() + 14);
    const auto jpeg = p.subspan(live_view_header_size);
    check_live_view(c, m.width, m.height, jpeg);
    if (c.error) return *c.error;
    m.jpeg.assign(jpeg.begin(), jpeg.end());
    return message{std::move(m)};
  }
  if (type == frame_type::image_chunk) {
    if (p.size() < image_chunk_header_size)
      return decode_error{error_code::bad_request, "image_chunk: payload of " +
                                                       std::to_string(p.size()) +
                                                       " bytes is shorter than its 20-byte header"};
    image_chunk m;
    m.transfer_id = base::load_be32(p.data());
    m.offset = base::load_be64(p.data() + 4);
    m.total_size = base::load_be64(p.data() + 12);
    const auto data = p.subspan(image_chunk_header_size);
    check_chunk(c, m.transfer_id, m.offset, m.total_size, data.size());
    if (c.error) return *c.error;
    m.data.assign(data.begin(), data.end());
    return message{std::move(m)};
  }
  if (!is_plist_type(type)) {
    if (f.type == peertalk::end_of_stream)
      return decode_error{error_code::bad_request,
                          "end of stream (frame type 0) is not a message: close the channel"};
    return decode_error{
        error_code::not_supported,
        "frame type " + std::to_string(f.type) + " is not part of the camera protocol version 1"};
  }
  if (p.size() > max_plist_payload)
    return decode_error{error_code::bad_request,
                        c.where + ": payload of " + std::to_string(p.size()) +
                            " bytes is more than " + std::to_string(max_plist_payload)};
  plist_ptr dict;
  if (!p.empty()) {
    if (p.size() < bplist_magic.size() ||
        std::memcmp(p.data(), bplist_magic.data(), bplist_magic.size()) != 0)
      return decode_error{error_code::bad_request,
                          c.where + ": payload is not a binary plist (no bplist00 magic)"};
    plist_t root = nullptr;
    plist_from_bin(reinterpret_cast<const char*>(p.data()), static_cast<std::uint32_t>(p.size()),
                   &root);
    dict.reset(root);
    if (root == nullptr)
      return decode_error{error_code::bad_request, c.where + ": binary plist does not parse"};
    if (plist_get_node_type(root) != PLIST_DICT)
      return decode_error{error_code::bad_request, c.where + ": binary plist is not a dictionary"};
  } else {
    dict.reset(plist_new_dict());  // an empty payload reads as an empty dictionary
  }
  auto m = detail::read_plist_message(type, static_cast<plist_t>(dict.get()), c);
  if (c.error) return *c.error;
  if (auto e = validate(*m)) return *e;
  return std::move(*m);
}

}  // namespace tether::proto::camera
