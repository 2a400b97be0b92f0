#include "proto/usbmuxd/wire.hpp"

#include "base/byte_order.hpp"
#include "proto/plist_util.hpp"

#include <plist/plist.h>

#include <cstring>
#include <memory>

namespace tether::proto::usbmuxd {
namespace {

using base::load_le32;

using base::append_le32;

header read_header(std::span<const std::byte, header_size> in) {
  return {load_le32(in.data()), load_le32(in.data() + 4), load_le32(in.data() + 8),
          load_le32(in.data() + 12)};
}

std::vector<std::byte> frame(std::uint32_t version, message_type type, std::uint32_t tag,
                             std::span<const std::byte> body) {
  std::vector<std::byte> out;
  out.reserve(header_size + body.size());
  append_le32(out, static_cast<std::uint32_t>(header_size + body.size()));
  append_le32(out, version);
  append_le32(out, static_cast<std::uint32_t>(type));
  append_le32(out, tag);
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

std::vector<std::byte> plist_message(std::uint32_t tag, plist_t dict) {
  const std::string xml = to_xml(dict);
  return frame(1, message_type::plist, tag, std::as_bytes(std::span(xml.data(), xml.size())));
}

plist_t attached_dict(const device& d) {
  plist_t props = plist_new_dict();
  plist_dict_set_item(props, "ConnectionSpeed", plist_new_uint(d.speed_bps));
  plist_dict_set_item(props, "ConnectionType", plist_new_string("USB"));
  plist_dict_set_item(props, "DeviceID", plist_new_uint(d.id));
  plist_dict_set_item(props, "LocationID", plist_new_uint(d.location));
  plist_dict_set_item(props, "ProductID", plist_new_uint(d.product_id));
  plist_dict_set_item(props, "SerialNumber", plist_new_string(d.udid.c_str()));
  plist_t dict = plist_new_dict();
  // MessageType and DeviceID at the top too, also inside DeviceList entries:
  // pymobiledevice3 dispatches on them.
  plist_dict_set_item(dict, "MessageType", plist_new_string("Attached"));
  plist_dict_set_item(dict, "DeviceID", plist_new_uint(d.id));
  plist_dict_set_item(dict, "Properties", props);
  return dict;
}

class usbmuxd_error_category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "tether.usbmuxd-client"; }
  std::string message(int v) const override {
    switch (static_cast<errc>(v)) {
      case errc::too_short: return "client message shorter than its 16-byte header";
      case errc::too_long: return "client message longer than 65536 bytes";
      case errc::bad_version: return "client protocol version is neither 0 (binary) nor 1 (plist)";
      case errc::bad_plist: return "plist request without a dictionary and a MessageType";
      case errc::bad_binary_body: return "binary request body has the wrong size";
      case errc::bad_daemon_address: return "not a usbmuxd address (a socket path or HOST:PORT)";
      case errc::bad_reply_length: return "the daemon sent a message length outside 16 to 65536";
      case errc::bad_reply: return "the daemon sent a message that is not a plist dictionary";
    }
    return "unknown client protocol error";
  }
};

}  // namespace

const std::error_category& client_protocol_category() noexcept {
  static const usbmuxd_error_category c;
  return c;
}

std::error_code message_reader::feed(std::span<const std::byte> bytes) {
  buf_.insert(buf_.end(), bytes.begin(), bytes.end());
  std::size_t off = 0;
  while (!error_ && buf_.size() - off >= header_size) {
    const header h =
        read_header(std::span<const std::byte>(buf_).subspan(off).first<header_size>());
    if (h.length < header_size) error_ = errc::too_short;
    if (h.length > max_message) error_ = errc::too_long;
    if (error_ || buf_.size() - off < h.length) break;
    const auto* body = buf_.data() + off + header_size;
    ready_.push_back({h, std::vector<std::byte>(body, body + (h.length - header_size))});
    off += h.length;
  }
  buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(off));
  if (error_) buf_.resize(std::min(buf_.size(), std::size_t{max_message}));  // bounded
  return error_;
}

std::vector<std::byte> message_reader::take_rest() {
  std::vector<std::byte> rest;
  for (std::size_t i = next_ready_; i < ready_.size(); ++i) {
    const auto& m = ready_[i];
    for (std::uint32_t v : {m.head.length, m.head.version, m.head.message, m.head.tag})
      append_le32(rest, v);
    rest.insert(rest.end(), m.body.begin(), m.body.end());
  }
  rest.insert(rest.end(), buf_.begin(), buf_.end());
  ready_.clear();
  next_ready_ = 0;
  buf_.clear();
  return rest;
}

std::optional<message_reader::message> message_reader::next() {
  if (next_ready_ == ready_.size()) {
    ready_.clear();
    next_ready_ = 0;
    return std::nullopt;
  }
  return std::move(ready_[next_ready_++]);
}

base::result<request> decode_request(const header& h, std::span<const std::byte> body) {
  if (h.version > 1) return errc::bad_version;
  request r;
  r.tag = h.tag;
  if (h.message != static_cast<std::uint32_t>(message_type::plist)) {
    switch (static_cast<message_type>(h.message)) {
      case message_type::listen: r.body = requests::listen{}; return r;
      case message_type::connect: {
        if (body.size() != 8) return errc::bad_binary_body;
        requests::connect c;
        c.device_id = load_le32(body.data());
        // The port travels in network order (big-endian) even in the binary protocol.
        c.port = base::load_be16(body.data() + 4);
        r.body = c;
        return r;
      }
      default: r.body = requests::unknown{"binary message " + std::to_string(h.message)}; return r;
    }
  }
  r.plist = true;
  plist_t root = nullptr;
  if (!body.empty())
    plist_from_memory(reinterpret_cast<const char*>(body.data()),
                      static_cast<std::uint32_t>(body.size()), &root);
  plist_ptr dict(root);
  if (!root || plist_get_node_type(root) != PLIST_DICT) return errc::bad_plist;
  const auto type = string_item(root, "MessageType");
  if (!type) return errc::bad_plist;
  r.client.prog_name = string_item(root, "ProgName").value_or("");
  r.client.client_version = string_item(root, "ClientVersionString").value_or("");
  r.client.bundle_id = string_item(root, "BundleID").value_or("");
  r.client.lib_version = uint_item(root, "kLibUSBMuxVersion").value_or(0);
  const std::string& t = *type;
  if (t == "ListDevices")
    r.body = requests::list_devices{};
  else if (t == "Listen")
    r.body = requests::listen{};
  else if (t == "ReadBUID")
    r.body = requests::read_buid{};
  else if (t == "ListListeners")
    r.body = requests::list_listeners{};
  else if (t == "Connect") {
    requests::connect c;
    if (auto id = uint_item(root, "DeviceID"); id && *id <= 0xFFFFFFFFu)
      c.device_id = static_cast<std::uint32_t>(*id);
    // Every client sends htons(port) as the integer: swap it back.
    if (auto p = uint_item(root, "PortNumber"); p && *p <= 0xFFFF)
      c.port = static_cast<std::uint16_t>(((*p & 0xFF) << 8) | ((*p >> 8) & 0xFF));
    r.body = c;
  } else if (t == "ReadPairRecord") {
    r.body = requests::read_pair_record{string_item(root, "PairRecordID").value_or("")};
  } else if (t == "DeletePairRecord") {
    r.body = requests::delete_pair_record{string_item(root, "PairRecordID").value_or("")};
  } else if (t == "SavePairRecord") {
    requests::save_pair_record s;
    s.id = string_item(root, "PairRecordID").value_or("");
    if (plist_t d = plist_dict_get_item(root, "PairRecordData");
        d && plist_get_node_type(d) == PLIST_DATA) {
      std::uint64_t len = 0;
      const char* p = plist_get_data_ptr(d, &len);
      const auto bytes = std::as_bytes(std::span(p, len));
      s.data.assign(bytes.begin(), bytes.end());
    }
    if (auto id = uint_item(root, "DeviceID"); id && *id <= 0xFFFFFFFFu)
      s.device_id = static_cast<std::uint32_t>(*id);
    r.body = std::move(s);
  } else if (tetherd::is_control_message(t)) {
    r.body = requests::control{tetherd::decode(root, t)};
  } else {
    r.body = requests::unknown{t};
  }
  return r;
}

std::vector<std::byte> encode_result_number(std::uint32_t tag, std::uint32_t number, bool plist) {
  if (!plist) {
    std::vector<std::byte> body;
    append_le32(body, number);
    return frame(0, message_type::result, tag, body);
  }
  plist_ptr d(plist_new_dict());
  plist_dict_set_item(d.get(), "MessageType", plist_new_string("Result"));
  plist_dict_set_item(d.get(), "Number", plist_new_uint(number));
  return plist_message(tag, d.get());
}

std::vector<std::byte> encode_result(std::uint32_t tag, result_code code, bool plist) {
  return encode_result_number(tag, static_cast<std::uint32_t>(code), plist);
}

std::vector<std::byte> encode_device_list(std::uint32_t tag, std::span<const device> devices) {
  plist_ptr d(plist_new_dict());
  plist_t list = plist_new_array();
  for (const device& dev : devices) plist_array_append_item(list, attached_dict(dev));
  plist_dict_set_item(d.get(), "DeviceList", list);  // no MessageType, as the reference
  return plist_message(tag, d.get());
}

std::vector<std::byte> encode_attached(const device& dev, bool plist) {
  if (plist) {
    plist_ptr d(attached_dict(dev));
    return plist_message(0, d.get());
  }
  // device_id u32 | product_id u16 | serial char[256] | padding u16 | location u32
  std::vector<std::byte> body;
  append_le32(body, dev.id);
  base::append_le16(body, dev.product_id);
  std::byte serial[256] = {};
  std::memcpy(serial, dev.udid.data(), std::min<std::size_t>(dev.udid.size(), 255));
  body.insert(body.end(), std::begin(serial), std::end(serial));
  body.push_back(std::byte{0});
  body.push_back(std::byte{0});
  append_le32(body, dev.location);
  return frame(0, message_type::device_add, 0, body);
}

std::vector<std::byte> encode_detached(std::uint32_t device_id, bool plist) {
  if (!plist) {
    std::vector<std::byte> body;
    append_le32(body, device_id);
    return frame(0, message_type::device_remove, 0, body);
  }
  plist_ptr d(plist_new_dict());
  plist_dict_set_item(d.get(), "MessageType", plist_new_string("Detached"));
  plist_dict_set_item(d.get(), "DeviceID", plist_new_uint(device_id));
  return plist_message(0, d.get());
}

std::vector<std::byte> encode_paired(std::uint32_t device_id, bool plist) {
  if (!plist) {
    std::vector<std::byte> body;
    append_le32(body, device_id);
    return frame(0, message_type::device_paired, 0, body);
  }
  plist_ptr d(plist_new_dict());
  plist_dict_set_item(d.get(), "MessageType", plist_new_string("Paired"));
  plist_dict_set_item(d.get(), "DeviceID", plist_new_uint(device_id));
  return plist_message(0, d.get());
}

std::vector<std::byte> encode_plist(std::uint32_t tag, plist_t dict) {
  plist_ptr d(dict);
  return plist_message(tag, d.get());
}

std::vector<std::byte> encode_buid(std::uint32_t tag, const std::string& buid) {
  plist_ptr d(plist_new_dict());
  plist_dict_set_item(d.get(), "BUID", plist_new_string(buid.c_str()));  // no MessageType
  return plist_message(tag, d.get());
}

std::vector<std::byte> encode_pair_record_data(std::uint32_t tag,
                                               std::span<const std::byte> record) {
  plist_ptr d(plist_new_dict());  // no MessageType, as the reference
  plist_dict_set_item(d.get(), "PairRecordData",
                      plist_new_data(reinterpret_cast<const char*>(record.data()), record.size()));
  return plist_message(tag, d.get());
}

std::vector<std::byte> encode_listener_list(std::uint32_t tag,
                                            std::span<const listener> listeners) {
  plist_ptr d(plist_new_dict());
  plist_t list = plist_new_array();
  for (const listener& l : listeners) {
    const std::string name = l.client.prog_name.empty() ? "unknown" : l.client.prog_name;
    plist_t e = plist_new_dict();
    plist_dict_set_item(e, "Blacklisted", plist_new_bool(0));
    if (!l.client.bundle_id.empty())
      plist_dict_set_item(e, "BundleID", plist_new_string(l.client.bundle_id.c_str()));
    plist_dict_set_item(e, "ConnType", plist_new_uint(0));
    // The listener's own number (usbmuxd puts the asking client's here by mistake).
    plist_dict_set_item(e, "ID String",
                        plist_new_string((std::to_string(l.number) + "-" + name).c_str()));
    plist_dict_set_item(e, "ProgName", plist_new_string(name.c_str()));
    plist_dict_set_item(e, "kLibUSBMuxVersion", plist_new_uint(l.client.lib_version));
    plist_array_append_item(list, e);
  }
  plist_dict_set_item(d.get(), "ListenerList", list);
  return plist_message(tag, d.get());
}

}  // namespace tether::proto::usbmuxd
