#include "phone/lockdownd_app.hpp"

#include "base/byte_order.hpp"
#include "proto/plist_util.hpp"

#include <plist/plist.h>

#include <cstring>
#include <unordered_map>
#include <vector>

namespace tether::sim {
namespace {

using usbmux::conn_id;
using usbmux::device_session;

using proto::plist_ptr;

std::string string_item(plist_t dict, const char* key) {
  return proto::string_item(dict, key).value_or("");
}

class lockdownd_app final : public phone_app {
 public:
  explicit lockdownd_app(lockdown_identity id) : id_(std::move(id)) {}

  void on_accept(device_session&, conn_id id) override { inbox_[id]; }

  void on_ready(device_session& s, conn_id id) override {
    auto& in = inbox_[id];
    const auto data = s.received(id);
    in.insert(in.end(), data.begin(), data.end());
    s.consume(id, data.size());
    while (in.size() >= 4) {
      const std::uint32_t len = base::load_be32(in.data());
      if (len > max_lockdown_message) {  // not a lockdown client: drop it
        inbox_.erase(id);
        (void)s.abort(id);
        return;
      }
      if (in.size() < 4 + std::size_t{len}) return;
      plist_t req = nullptr;
      plist_from_memory(reinterpret_cast<const char*>(in.data() + 4), len, &req);
      in.erase(in.begin(), in.begin() + 4 + static_cast<std::ptrdiff_t>(len));
      plist_ptr request(req);
      reply(s, id, request.get());
    }
  }

 private:
  plist_ptr values() const {
    plist_ptr d(plist_new_dict());
    auto set = [&](const char* k, const std::string& v) {
      plist_dict_set_item(d.get(), k, plist_new_string(v.c_str()));
    };
    set("DeviceName", id_.device_name);
    set("DeviceClass", "iPhone");
    set("ProductType", id_.product_type);
    set("ProductVersion", id_.product_version);
    set("BuildVersion", id_.build_version);
    set("UniqueDeviceID", id_.udid);
    set("CPUArchitecture", "arm64e");
    set("HardwareModel", "D63AP");
    return d;
  }

  void reply(device_session& s, conn_id id, plist_t request) {
    plist_ptr out(plist_new_dict());
    const std::string what = request ? string_item(request, "Request") : std::string();
    plist_dict_set_item(out.get(), "Request", plist_new_string(what.c_str()));
    if (what == "QueryType") {
      plist_dict_set_item(out.get(), "Type", plist_new_string("com.apple.mobile.lockdown"));
    } else if (what == "GetValue" && string_item(request, "Domain").empty()) {
      plist_ptr all = values();
      const std::string key = string_item(request, "Key");
      if (key.empty()) {
        plist_dict_set_item(out.get(), "Value", all.release());
      } else if (plist_t v = plist_dict_get_item(all.get(), key.c_str())) {
        plist_dict_set_item(out.get(), "Key", plist_new_string(key.c_str()));
        plist_dict_set_item(out.get(), "Value", plist_copy(v));
      } else {
        plist_dict_set_item(out.get(), "Key", plist_new_string(key.c_str()));
        plist_dict_set_item(out.get(), "Error", plist_new_string("MissingValue"));
      }
    } else if (what == "StartSession" || what == "GetValue") {
      plist_dict_set_item(out.get(), "Error", plist_new_string("InvalidHostID"));  // never paired
    } else {
      plist_dict_set_item(out.get(), "Error", plist_new_string("UnsupportedRequest"));
    }
    const std::string xml = proto::to_xml(out.get());
    const auto len = static_cast<std::uint32_t>(xml.size());
    std::vector<std::byte> frame(4 + xml.size());
    base::store_be32(frame.data(), len);
    std::memcpy(frame.data() + 4, xml.data(), xml.size());
    (void)s.send(id, frame);  // replies are small; the send buffer always has room
  }

  lockdown_identity id_;
  std::unordered_map<conn_id, std::vector<std::byte>> inbox_;
};

}  // namespace

std::unique_ptr<phone_app> make_lockdownd_app(lockdown_identity id) {
  return std::make_unique<lockdownd_app>(std::move(id));
}

}  // namespace tether::sim
