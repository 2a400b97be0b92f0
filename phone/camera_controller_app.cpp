#include "phone/camera_controller_app.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <fstream>
#include <map>

#include "proto/camera/messages.hpp"
#include "proto/peertalk/frame.hpp"

namespace tether::sim {
namespace {

namespace cam = proto::camera;
namespace msg = proto::camera::messages;
using clock_type = std::chrono::steady_clock;
using usbmux::conn_id;
using usbmux::device_session;

// One session with the camera service (a new one after every reconnect).
struct session_state {
  proto::peertalk::frame_reader reader =
      proto::peertalk::frame_reader(proto::peertalk::default_max_payload);
  std::vector<std::byte> out;  // encoded frames the mux has not taken yet
  std::uint32_t next_tag = 1;
  std::map<std::uint32_t, std::string> pending;  // tag -> what it asked
  nlohmann::json report = nlohmann::json::object();
  unsigned frames = 0;
  std::uint32_t last_sequence = 0;
  unsigned sequence_gaps = 0;
  clock_type::time_point first_frame, last_frame;
  bool capture_sent = false;
  bool download_done = false;
  bool stopped = false;
  std::uint32_t transfer_id = 0;
  std::vector<std::byte> capture;
  std::string capture_name;
  std::vector<std::string> to_set;  // properties still to set
};

class controller_app final : public phone_app {
 public:
  explicit controller_app(controller_script script) : script_(std::move(script)) {}

  void on_accept(device_session& s, conn_id id) override {
    auto& st = sessions_[id];
    st = session_state{};
    st.report["sessions"] = ++session_count_;
    send(s, id,
         msg::hello{cam::protocol_version,
                    cam::role::controller,
                    "tether-sim controller",
                    {"live_view", "capture", "download"}},
         0);
  }

  void on_ready(device_session& s, conn_id id) override {
    auto it = sessions_.find(id);
    if (it == sessions_.end()) return;
    auto& st = it->second;
    const auto data = s.received(id);
    if (!data.empty()) {
      st.reader.feed(data);
      s.consume(id, data.size());
      while (auto f = st.reader.next()) {
        auto decoded = cam::decode(*f);
        if (auto* e = std::get_if<cam::decode_error>(&decoded)) {
          st.report["errors"].push_back(e->text);
          continue;
        }
        handle(s, id, st, f->tag, std::get<cam::message>(decoded));
      }
    }
    flush(s, id, st);
  }

  void on_closed(conn_id id) override {
    if (auto it = sessions_.find(id); it != sessions_.end()) {
      write_report(it->second);
      sessions_.erase(it);
    }
  }

 private:
  void send(device_session& s, conn_id id, const cam::message& m, std::uint32_t tag) {
    auto& st = sessions_[id];
    const auto bytes = cam::encode(m, tag);
    st.out.insert(st.out.end(), bytes.begin(), bytes.end());
    flush(s, id, st);
  }

  std::uint32_t request(device_session& s, conn_id id, const cam::message& m, std::string what) {
    auto& st = sessions_[id];
    const std::uint32_t tag = st.next_tag++;
    st.pending[tag] = std::move(what);
    send(s, id, m, tag);
    return tag;
  }

  static void flush(device_session& s, conn_id id, session_state& st) {
    if (st.out.empty()) return;
    const auto took = s.send(id, st.out);
    if (took && *took > 0)
      st.out.erase(st.out.begin(), st.out.begin() + static_cast<std::ptrdiff_t>(*took));
  }

  void handle(device_session& s, conn_id id, session_state& st, std::uint32_t tag,
              const cam::message& m) {
    std::visit(
        [&](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, msg::hello>) {
            st.report["camera"] = v.name;
            request(s, id, msg::get_properties{}, "get_properties");
          } else if constexpr (std::is_same_v<T, msg::properties>) {
            st.pending.erase(tag);
            auto& props = st.report["properties"];
            for (const auto& p : v.items) {
              props[p.name] = {{"value", p.value}, {"allowed", p.allowed}};
              // Set ISO and shutter speed to another allowed value, as a user would.
              if ((p.name == "iso" || p.name == "shutter_speed") && p.allowed.size() > 1) {
                const auto& want = p.allowed[p.allowed.size() / 2] == p.value
                                       ? p.allowed.front()
                                       : p.allowed[p.allowed.size() / 2];
                request(s, id, msg::set_property{p.name, want}, "set " + p.name);
                st.to_set.push_back(p.name);
              }
            }
            if (st.to_set.empty()) start_live_view(s, id);
          } else if constexpr (std::is_same_v<T, msg::property_set>) {
            st.pending.erase(tag);
            st.report["set"].push_back(
                {{"name", v.name}, {"requested", v.requested}, {"applied", v.applied}});
            std::erase(st.to_set, v.name);
            if (st.to_set.empty()) start_live_view(s, id);
          } else if constexpr (std::is_same_v<T, msg::live_view_frame>) {
            on_frame(s, id, st, v);
          } else if constexpr (std::is_same_v<T, msg::live_view_stats>) {
            // The camera's view of this controller's live view, the last second of it.
            st.report["camera_stats"] = {{"fps", v.fps},
                                         {"camera_fps", v.camera_fps},
                                         {"mean_age_ms", v.mean_age_ms},
                                         {"max_age_ms", v.max_age_ms},
                                         {"dropped", v.dropped}};
          } else if constexpr (std::is_same_v<T, msg::capture_done>) {
            st.transfer_id = v.transfer_id;
            st.capture_name = v.file_name;
            st.report["capture"] = {{"file", v.file_name}, {"size", v.size}, {"mime", v.mime_type}};
            request(s, id, msg::download{v.transfer_id, 0}, "download");
          } else if constexpr (std::is_same_v<T, msg::image_chunk>) {
            if (st.capture.size() != v.offset) {
              st.report["errors"].push_back("image chunk at " + std::to_string(v.offset) +
                                            ", expected " + std::to_string(st.capture.size()));
              return;
            }
            st.capture.insert(st.capture.end(), v.data.begin(), v.data.end());
            if (st.capture.size() == v.total_size) {
              st.download_done = true;
              st.report["capture"]["downloaded"] = st.capture.size();
              save(st.capture_name.empty() ? "capture.jpg" : st.capture_name, st.capture);
              maybe_stop(s, id, st);
            }
          } else if constexpr (std::is_same_v<T, msg::error>) {
            st.report["errors"].push_back(st.pending[tag] + ": " + v.message);
            st.pending.erase(tag);
          } else if constexpr (std::is_same_v<T, msg::ok>) {
            if (st.pending[tag] == "stop_live_view") write_report(st);
            st.pending.erase(tag);
          }
        },
        m);
  }

  // Two frames in flight, acknowledged as they are handled, as an iOS app showing
  // live view would do (PROTOCOL.md §6.2).
  void start_live_view(device_session& s, conn_id id) {
    request(s, id, msg::start_live_view{2}, "start_live_view");
  }

  void on_frame(device_session& s, conn_id id, session_state& st, const msg::live_view_frame& f) {
    const auto now = clock_type::now();
    if (st.frames == 0)
      st.first_frame = now;
    else if (f.sequence != st.last_sequence + 1)
      ++st.sequence_gaps;
    st.last_frame = now;
    st.last_sequence = f.sequence;
    ++st.frames;
    st.report["frame_size"] = std::to_string(f.width) + "x" + std::to_string(f.height);
    if (!script_.record_dir.empty()) {
      char name[32];
      std::snprintf(name, sizeof name, "frame-%06u.jpg", f.sequence);
      save(name, f.jpeg);
    }
    send(s, id, msg::live_view_ack{f.sequence}, proto::peertalk::no_tag);
    if (!st.capture_sent && st.frames >= script_.frames_before_capture) {
      st.capture_sent = true;
      request(s, id, msg::capture{}, "capture");
    }
    maybe_stop(s, id, st);
  }

  void maybe_stop(device_session& s, conn_id id, session_state& st) {
    if (st.stopped || !st.download_done || st.frames < script_.frames_total) return;
    st.stopped = true;
    request(s, id, msg::stop_live_view{}, "stop_live_view");
  }

  void save(const std::string& name, std::span<const std::byte> bytes) const {
    if (script_.record_dir.empty()) return;
    std::filesystem::create_directories(script_.record_dir);
    std::ofstream(script_.record_dir / std::filesystem::path(name).filename(), std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()),
               static_cast<std::streamsize>(bytes.size()));
  }

  void write_report(session_state& st) const {
    st.report["frames"] = st.frames;
    st.report["sequence_gaps"] = st.sequence_gaps;
    const double seconds = std::chrono::duration<double>(st.last_frame - st.first_frame).count();
    st.report["fps"] = st.frames > 1 && seconds > 0 ? (st.frames - 1) / seconds : 0.0;
    st.report["done"] = st.stopped;
    if (script_.record_dir.empty()) return;
    std::filesystem::create_directories(script_.record_dir);
    std::ofstream(script_.record_dir / "report.json") << st.report.dump(2) << "\n";
  }

  controller_script script_;
  std::map<conn_id, session_state> sessions_;
  unsigned session_count_ = 0;
};

}  // namespace

std::unique_ptr<phone_app> make_camera_controller_app(controller_script script) {
  return std::make_unique<controller_app>(std::move(script));
}

}  // namespace tether::sim
