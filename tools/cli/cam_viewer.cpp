// tether cam view: a web page for the camera behind tether-camera. This process is one
// more controller on tether-camera's local socket (the protocol a phone app speaks); it
// serves the live view as MJPEG and the main controls to browsers.
//
//   GET  /                     the page (viewer_page.hpp), self-contained
//   GET  /stream.mjpg          live view, multipart/x-mixed-replace; newest frame wins
//   GET  /api/properties       {"properties": [{name, value, allowed, writable}]}
//   POST /api/set              {"name", "value"} -> {"name", "requested", "applied"}
//   POST /api/focus            {"how": auto|near|far, "size": small|medium|large} -> {}
//   POST /api/capture          {} -> {"file", "size", "mime", "url"} (saved in --out)
//   GET  /api/capture/latest   that file, as a download
//   GET  /api/stats            connection, fps, frame age, size, gaps, streams ...
// Errors are {"error": text} with 4xx (the request) or 502/503 (the camera side).
//
// One thread: the io_context runs the HTTP server, the connection to the camera
// (viewer_camera, asynchronous) and all the state here, so nothing needs a lock. Each
// frame goes to the MJPEG fan-out as it arrives, where slow browsers get the newest.
#include <asio/ip/address.hpp>
#include <asio/signal_set.hpp>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>

#include "tools/cli/cli_error.hpp"
#include "tools/cli/commands.hpp"
#include "tools/cli/viewer_camera.hpp"
#include "viewer/http_server.hpp"
#include "viewer/mjpeg_fanout.hpp"
#include "viewer/viewer_page.hpp"

namespace tether::cli {
namespace {

namespace msg = proto::camera::messages;
using json = nlohmann::json;
using namespace tether::viewer;  // the HTTP server, the MJPEG fan-out and the page

constexpr std::size_t max_streams = 8;

http_response json_response(int status, const json& j) {
  return {status, "application/json", j.dump(), {}, {}};
}
http_response json_error(int status, const std::string& text) {
  return json_response(status, {{"error", text}});
}

class viewer {
 public:
  viewer(asio::io_context& io, const cam_options& where, std::filesystem::path out_dir)
      : out_dir_(std::move(out_dir)),
        fanout_(max_streams),
        camera_(io, where,
                {[this](const viewer_camera::live_frame& f) { fanout_.publish(f); },
                 [this](bool connected, const std::string& text) {
                   connected_ = connected;
                   status_ = text;
                 },
                 [this] { ++properties_revision_; }}) {}

  viewer_camera& camera() { return camera_; }

  void handle(const http_request& req, const http_reply& reply) {
    const bool get = req.method == "GET", post = req.method == "POST";
    const auto& p = req.path;
    const bool known = p == "/" || p == "/stream.mjpg" || p == "/api/properties" ||
                       p == "/api/stats" || p == "/api/capture/latest" || p == "/api/set" ||
                       p == "/api/focus" || p == "/api/capture";
    if (!known) return reply.send(json_error(404, "no such page: " + p));
    const bool wants_post = p == "/api/set" || p == "/api/focus" || p == "/api/capture";
    if (wants_post ? !post : !get) {
      auto r = json_error(405, p + " takes " + (wants_post ? "POST" : "GET"));
      r.headers.emplace_back("Allow", wants_post ? "POST" : "GET");
      return reply.send(std::move(r));
    }
    if (p == "/")
      return reply.send({200, "text/html; charset=utf-8", std::string(viewer_page), {}, {}});
    if (p == "/stream.mjpg") {
      if (fanout_.full())
        return reply.send(json_error(
            503, "already " + std::to_string(max_streams) + " live-view streams; close one"));
      return fanout_.add(reply.stream(mjpeg_fanout::content_type));
    }
    if (p == "/api/stats") return reply.send(json_response(200, stats()));
    if (p == "/api/capture/latest") return send_latest_capture(reply);
    if (p == "/api/properties") return get_properties(reply);

    // POSTs carry JSON: a plain form or a cross-site page cannot send that without the
    // browser asking first (CORS preflight, which this server never allows).
    const std::string* type = req.header("content-type");
    if (type == nullptr || !type->starts_with("application/json"))
      return reply.send(json_error(415, "send a JSON body (Content-Type: application/json)"));
    const json body = json::parse(req.body.empty() ? "{}" : req.body, nullptr, false);
    if (!body.is_object()) return reply.send(json_error(400, "the body is not a JSON object"));
    if (p == "/api/set") return set_property(body, reply);
    if (p == "/api/focus") return focus(body, reply);
    return capture(reply);
  }

 private:
  // Sends `m` to the camera; `make` turns its reply into the JSON answer (or throws).
  template <class F>
  void on_camera(const http_reply& reply, proto::camera::message m, F make) {
    camera_.request(std::move(m),
                    [reply, make = std::move(make)](const proto::camera::message* r,
                                                    const viewer_camera::failure* why) {
                      if (why != nullptr) return reply.send(camera_error(*why));
                      try {
                        reply.send(json_response(200, make(*r)));
                      } catch (const std::exception& e) {
                        reply.send(json_error(502, e.what()));
                      }
                    });
  }
  static http_response camera_error(const viewer_camera::failure& why) {
    return why.connected ? json_error(502, why.text)
                         : json_error(503, "not connected to tether-camera");
  }

  void get_properties(const http_reply& reply) {
    on_camera(reply, msg::get_properties{}, [](const proto::camera::message& r) {
      const auto* p = std::get_if<msg::properties>(&r);
      if (p == nullptr) throw cli_error(failed, "tether-camera answered get_properties oddly");
      json list = json::array();
      for (const auto& item : p->items)
        list.push_back({{"name", item.name},
                        {"value", item.value},
                        {"allowed", item.allowed},
                        {"writable", item.writable}});
      return json{{"properties", list}};
    });
  }

  void set_property(const json& body, const http_reply& reply) {
    const auto name = body.value("name", json()), value = body.value("value", json());
    if (!name.is_string() || !value.is_string())
      return reply.send(json_error(400, "set takes {\"name\": string, \"value\": string}"));
    msg::set_property set{name.get<std::string>(), value.get<std::string>()};
    if (const auto bad = proto::camera::validate(proto::camera::message(set)))
      return reply.send(json_error(400, bad->text));
    on_camera(reply, set, [](const proto::camera::message& r) {
      const auto* s = std::get_if<msg::property_set>(&r);
      if (s == nullptr) throw cli_error(failed, "tether-camera answered set_property oddly");
      return json{{"name", s->name}, {"requested", s->requested}, {"applied", s->applied}};
    });
  }

  void focus(const json& body, const http_reply& reply) {
    const std::string how = body.value("how", ""), size = body.value("size", "small");
    if ((how != "auto" && how != "near" && how != "far") ||
        (size != "small" && size != "medium" && size != "large"))
      return reply.send(
          json_error(400, "focus takes {\"how\": auto|near|far, \"size\": small|medium|large}"));
    msg::focus_step step;
    step.direction = how == "near" ? msg::focus_direction::near : msg::focus_direction::far;
    step.size = size == "large"    ? msg::focus_size::large
                : size == "medium" ? msg::focus_size::medium
                                   : msg::focus_size::small;
    on_camera(
        reply,
        how == "auto" ? proto::camera::message(msg::autofocus{}) : proto::camera::message(step),
        [](const proto::camera::message&) { return json::object(); });
  }

  void capture(const http_reply& reply) {
    camera_.capture(out_dir_,
                    [this, reply](const saved_capture* saved, const viewer_camera::failure* why) {
                      if (why != nullptr) return reply.send(camera_error(*why));
                      latest_capture_ = *saved;
                      reply.send(json_response(200, capture_json()));
                    });
  }

  json capture_json() const {
    if (!latest_capture_) return nullptr;
    return {{"file", latest_capture_->file_name},
            {"size", latest_capture_->size},
            {"mime", latest_capture_->mime_type},
            {"path", std::filesystem::absolute(latest_capture_->path).string()},
            {"url", "/api/capture/latest"}};
  }

  void send_latest_capture(const http_reply& reply) {
    if (!latest_capture_) return reply.send(json_error(404, "nothing captured yet"));
    std::string safe = latest_capture_->file_name;
    for (auto& c : safe)
      if (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20) c = '_';
    http_response r{200, latest_capture_->mime_type, {}, {}, latest_capture_->path};
    r.headers.emplace_back("Content-Disposition", "attachment; filename=\"" + safe + "\"");
    reply.send(std::move(r));
  }

  json stats() {
    json j = fanout_.figures();
    j["connected"] = connected_;
    j["status"] = status_;
    j["camera"] = camera_.camera_name();
    j["properties_revision"] = properties_revision_;
    j["capture"] = capture_json();
    return j;
  }

  std::filesystem::path out_dir_;
  bool connected_ = true;
  std::string status_ = "connected";
  std::uint64_t properties_revision_ = 0;
  std::optional<saved_capture> latest_capture_;
  mjpeg_fanout fanout_;
  viewer_camera camera_;  // last: its callbacks use the above
};

asio::ip::tcp::endpoint parse_listen(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon + 1 == text.size())
    throw cli_error(usage, "--listen takes ADDRESS:PORT, e.g. 127.0.0.1:8080, not " + text);
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (host == "localhost") host = "127.0.0.1";
  std::error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  const std::string port_text = text.substr(colon + 1);
  unsigned long port = 65536;
  if (port_text.find_first_not_of("0123456789") == std::string::npos && port_text.size() <= 5)
    port = std::stoul(port_text);
  if (ec || port > 65535)
    throw cli_error(usage, "--listen takes ADDRESS:PORT with an IP address, not " + text);
  return {address, static_cast<std::uint16_t>(port)};
}

}  // namespace

int run_cam_view(const cam_options& c, const view_options& v) {
  const auto at = parse_listen(v.listen);
  if (!at.address().is_loopback() && !v.allow_remote)
    throw cli_error(usage, "not serving on " + v.listen +
                               ": the viewer has no login, so anyone who can reach that "
                               "address could control the camera. Add --allow-remote if "
                               "that is what you want");
  asio::io_context io;
  viewer view(io, c, v.out_dir);
  // The first connection before anything else runs on the loop, so that a camera that
  // cannot be reached is said at once and nothing is served. Its waits are bounded
  // (viewer_camera.hpp), so this ends.
  std::optional<cli_error> unreachable;
  bool first_done = false;
  view.camera().start([&](const cli_error* e) {
    if (e != nullptr) unreachable = *e;
    first_done = true;
  });
  while (!first_done && io.run_one()) {
  }
  if (unreachable) throw *unreachable;
  if (!first_done) throw cli_error(failed, "the connection to the camera ended unanswered");
  const std::string name = view.camera().camera_name();
  std::optional<http_server> server;
  try {
    server.emplace(io, at,
                   [&view](const http_request& r, http_reply reply) { view.handle(r, reply); });
  } catch (const std::system_error& e) {
    if (e.code() == asio::error::address_in_use)
      throw cli_error(failed, "port " + std::to_string(at.port()) + " on " +
                                  at.address().to_string() +
                                  " is in use: choose another with --listen ADDRESS:PORT "
                                  "(port 0 picks a free one)");
    throw cli_error(failed, "cannot serve on " + v.listen + ": " + e.code().message());
  }
  const auto here = server->local_endpoint();
  const std::string where =
      c.phone_port != 0 ? "the phone's port " + std::to_string(c.phone_port) : c.socket;
  const std::string host =
      here.address().is_v6() ? "[" + here.address().to_string() + "]" : here.address().to_string();
  std::printf("tether cam view: http://%s:%u/ (camera %s at %s; captures go to %s; Ctrl-C stops)\n",
              host.c_str(), here.port(), name.c_str(), where.c_str(),
              std::filesystem::absolute(v.out_dir).c_str());
  std::fflush(stdout);

  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](std::error_code ec, int) {
    if (ec) return;
    signals.clear();  // a second Ctrl-C ends the process at once
    server->close();
    // Live view is stopped politely, within the camera's grace; then the loop ends.
    view.camera().stop([&io] { io.stop(); });
  });
  io.run();
  return ok;
}

}  // namespace tether::cli
