// Writes the fuzz seed corpora: real exchanges between a host and a device session
// over the in-memory link, recorded per direction. The host target's seeds are what
// the phone sent; the device target's seeds are what the host sent; the codec gets
// both. The camera protocol's seeds are the encoder's frames
// (tests/proto/camera/camera_examples.hpp): each message alone, and what each side of a session
// sends. Run: record_corpus OUTDIR  (then commit OUTDIR's files under corpus/).
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/proto/camera/camera_examples.hpp"
#include "usbmux/core/device_session.hpp"
#include "usbmux/core/host_session.hpp"
#include "usbmux/testing/memory_link.hpp"

using namespace tether::usbmux;

namespace {

struct recording {
  std::vector<std::byte> to_device, to_host;
};

void serve(session& s) {
  while (auto e = s.poll_event()) {
    if (auto* c = std::get_if<events::closed>(&*e)) (void)s.close(c->id, {});
  }
}

// The host target connects to 62078, 2345 and 9999 as soon as VERSION is answered,
// so every scenario does the same and the seeds line up with it.
recording scenario(std::uint32_t phone_major, std::size_t phone_bytes, bool reset, bool control) {
  device_options dopt;
  dopt.version_major = phone_major;
  dopt.refused_reason = "port closed";
  host_session host;
  device_session phone(dopt);
  phone.listen(62078);
  phone.listen(2345);
  testing::memory_link link(host, phone);
  recording r;
  link.set_tap([&](testing::direction d, std::span<const std::byte> p) {
    auto& out = d == testing::direction::to_device ? r.to_device : r.to_host;
    out.insert(out.end(), p.begin(), p.end());
  });
  host.start({});
  link.pump();
  std::vector<conn_id> host_ids;
  for (std::uint16_t port : {std::uint16_t{62078}, std::uint16_t{2345}, std::uint16_t{9999}})
    host_ids.push_back(*host.connect(port, {}));
  link.pump();
  std::vector<conn_id> phone_ids;
  while (auto e = phone.poll_event())
    if (auto* a = std::get_if<events::accepted>(&*e)) phone_ids.push_back(a->id);
  serve(host);
  const std::string hello = "hello from the host";
  (void)host.send(host_ids[0], std::as_bytes(std::span(hello.data(), hello.size())));
  link.pump();
  std::vector<std::byte> payload(phone_bytes);
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = std::byte(i * 7);
  std::size_t sent = 0;
  while (sent < payload.size()) {
    sent += *phone.send(phone_ids[1], std::span(payload).subspan(sent));
    link.pump();
    host.consume(host_ids[1], host.received(host_ids[1]).size());
    phone.consume(phone_ids[0], phone.received(phone_ids[0]).size());
    link.pump();
  }
  if (control) {
    // Sessions never send CONTROL themselves; append one as a phone would.
    const char msg[] =
        "\x07"
        "informational message";
    std::vector<std::byte> pkt(16 + sizeof msg - 1);
    encode(mux_header{protocol::control, static_cast<std::uint32_t>(pkt.size())}, phone.format(),
           pkt);
    std::memcpy(pkt.data() + header_size(phone.format()), msg, sizeof msg - 1);
    pkt.resize(header_size(phone.format()) + sizeof msg - 1);
    encode(mux_header{protocol::control, static_cast<std::uint32_t>(pkt.size())}, phone.format(),
           pkt);
    r.to_host.insert(r.to_host.end(), pkt.begin(), pkt.end());
  }
  if (reset) {
    (void)phone.abort(phone_ids[0]);
    (void)host.abort(host_ids[1]);
    link.pump();
  }
  return r;
}

void write(const std::filesystem::path& dir, const std::string& name,
           const std::vector<std::byte>& b) {
  std::filesystem::create_directories(dir);
  std::ofstream(dir / name, std::ios::binary)
      .write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

void write_camera_seeds(const std::filesystem::path& dir) {
  namespace camera = tether::proto::camera;
  std::vector<std::byte> controller, camera_side;
  for (const auto& ex : camera::examples::all_kinds()) {
    const auto frame = camera::encode(ex.msg, ex.tag);
    write(dir, ex.name + ".bin", frame);
    const bool from_controller =
        ex.msg.index() == camera::message(camera::messages::get_properties{}).index() ||
        ex.msg.index() == camera::message(camera::messages::set_property{}).index() ||
        ex.msg.index() == camera::message(camera::messages::capture{}).index() ||
        ex.msg.index() == camera::message(camera::messages::autofocus{}).index() ||
        ex.msg.index() == camera::message(camera::messages::focus_step{}).index() ||
        ex.msg.index() == camera::message(camera::messages::start_live_view{}).index() ||
        ex.msg.index() == camera::message(camera::messages::stop_live_view{}).index() ||
        ex.msg.index() == camera::message(camera::messages::download{}).index() ||
        ex.msg.index() == camera::message(camera::messages::live_view_ack{}).index() ||
        ex.name == "hello";
    auto& out = from_controller ? controller : camera_side;
    out.insert(out.end(), frame.begin(), frame.end());
  }
  write(dir, "session_controller.bin", controller);
  write(dir, "session_camera.bin", camera_side);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: record_corpus OUTDIR\n");
    return 2;
  }
  const std::filesystem::path out = argv[1];
  struct named {
    const char* name;
    recording r;
  };
  const named all[] = {
      {"v2_connect_data_reset", scenario(2, 3000, true, true)},
      {"v2_bulk_60k", scenario(2, 60000, false, false)},
      {"v1_phone_connect_data", scenario(1, 1000, true, false)},
  };
  for (const auto& [name, r] : all) {
    write(out / "fuzz_host_session", std::string(name) + ".bin", r.to_host);
    write(out / "fuzz_device_session", std::string(name) + ".bin", r.to_device);
    write(out / "fuzz_mux_codec", std::string(name) + "_to_host.bin", r.to_host);
    write(out / "fuzz_mux_codec", std::string(name) + "_to_device.bin", r.to_device);
  }
  write_camera_seeds(out / "fuzz_camera_protocol");
  std::printf("wrote %zu scenarios to %s\n", std::size(all), out.c_str());
  return 0;
}
