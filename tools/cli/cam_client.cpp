#include "tools/cli/cam_client.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <optional>
#include <thread>

#include "tools/cli/cli_error.hpp"
#include "tools/cli/fd_io.hpp"
#include "tools/cli/phone_port.hpp"
#include "tools/cli/phones.hpp"

namespace tether::cli {

namespace cam = proto::camera;

namespace {

int connect_local(const std::string& path) {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.size() >= sizeof sa.sun_path) throw cli_error(usage, "camera socket path too long");
  std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || ::connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0) {
    const int err = errno;
    if (fd >= 0) ::close(fd);
    throw cam_words::cannot_reach(path, std::strerror(err));
  }
  return fd;
}

}  // namespace

namespace cam_words {

cli_error cannot_reach(const std::string& path, const std::string& why) {
  return cli_error(no_daemon, "cannot reach tether-camera at " + path + ": " + why +
                                  " (start tether-camera first, or choose its socket with "
                                  "--camera)");
}

cli_error no_hello(const std::string& peer, bool app) {
  const std::string bound = std::to_string(cam_client::hello_wait.count()) + " s";
  if (app)
    return cli_error(failed, peer + " accepted the connection but did not say hello within " +
                                 bound + ": is it a tether camera app, and is it in the " +
                                 "foreground?");
  return cli_error(failed, "tether-camera did not say hello within " + bound +
                               ": is it stuck? (its log says why)");
}

cli_error not_camera_protocol(const std::string& peer, bool app, const std::string& why) {
  return cli_error(failed, peer + " does not speak tether's camera protocol (" + why +
                               "): is this the camera" + (app ? " app's port?" : "'s socket?"));
}

std::string camera_name(const cam::message& first, const std::string& peer, bool app) {
  const auto* h = std::get_if<cam::messages::hello>(&first);
  if (h == nullptr)
    throw cli_error(
        failed, peer + " did not begin with hello: is it a tether camera" + (app ? " app?" : "?"));
  // An echo service hands our own hello back: that is no camera.
  if (h->sender != cam::role::camera)
    throw cli_error(failed, peer + " is not a camera: its hello says it is a controller" +
                                (app ? " (is this the camera app's port?)" : ""));
  return h->name;
}

cli_error unreadable_frame(const std::string& peer, const std::string& why) {
  return cli_error(failed, peer + " sent a frame that cannot be read: " + why);
}

cli_error unreadable_stream(const std::string& peer, const std::string& why) {
  return cli_error(failed, peer + "'s stream cannot be read: " + why);
}

cli_error silent(const std::string& peer, std::chrono::milliseconds limit) {
  return cli_error(failed, peer + " sent nothing for " + std::to_string(limit.count() / 1000) +
                               " s while an answer or a frame was due" +
                               (peer == "tether-camera" ? ": is the camera stuck?"
                                                        : ": is the app in the foreground?"));
}

cli_error refused(const cam::messages::error& e) {
  return cli_error(e.code == cam::error_code::no_camera ? no_phone : failed,
                   "the camera refused: " + e.message + " (" + cam::to_string(e.code) + ")");
}

cli_error closed(const std::string& peer) {
  return cli_error(no_daemon, peer + " closed the connection");
}

cli_error phone_ended(const std::string& peer, const std::string& daemon, const std::string& udid,
                      std::optional<bool> attached) {
  if (!attached)
    return cli_error(
        no_daemon, "lost " + peer + " and the daemon at " + daemon + " with it: did tetherd stop?");
  if (!*attached) return cli_error(no_phone, "phone " + udid + " went away (unplugged?)");
  return cli_error(
      failed, peer + " closed the connection: did the app quit, or go to the " + "background?");
}

}  // namespace cam_words

cam_client::cam_client(const cam_options& o) {
  if (o.phone_port == 0) {
    fd_ = connect_local(o.socket);
  } else {
    peer_ = "the app on port " + std::to_string(o.phone_port);
    phone chosen;
    fd_ = open_phone_port(o.daemon.socket, o.daemon.udid, o.phone_port, &chosen);
    daemon_ = o.daemon.socket;
    udid_ = chosen.udid;
  }
  say_hello();
}

void cam_client::say_hello() {
  send(cam::messages::hello{cam::protocol_version, cam::role::controller, "tether cam", {}}, 0);
  const bool app = is_app();
  const auto deadline = std::chrono::steady_clock::now() + hello_wait;
  std::optional<std::pair<cam::message, std::uint32_t>> first;
  while (!(first = take_buffered())) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || !readable(left)) throw cam_words::no_hello(peer_, app);
    if (!receive()) throw cam_words::not_camera_protocol(peer_, app, reader_.error_text());
  }
  camera_name_ = cam_words::camera_name(first->first, peer_, app);
}

cam_client::~cam_client() {
  if (fd_ >= 0) ::close(fd_);
}

void cam_client::send(const cam::message& m, std::uint32_t tag) {
  if (!send_all(fd_, cam::encode(m, tag))) connection_ended();
}

void cam_client::connection_ended() {
  if (udid_.empty()) throw cam_words::closed(peer_);
  // Through the daemon, an unplugged phone and an app that quit look alike here: the
  // daemon's list tells them apart. The daemon may hear of the unplug a moment after
  // the connection broke, so the phone gets up to a second to leave the list.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  for (;;) {
    std::optional<bool> attached;
    try {
      mux_client c(daemon_);
      const auto phones = list_phones(c);
      attached = std::any_of(phones.begin(), phones.end(),
                             [&](const phone& p) { return p.udid == udid_; });
    } catch (const cli_error&) {
    }
    if (!attached || !*attached || std::chrono::steady_clock::now() >= give_up)
      throw cam_words::phone_ended(peer_, daemon_, udid_, attached);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

std::optional<std::pair<cam::message, std::uint32_t>> cam_client::take_buffered() {
  auto f = reader_.next();
  if (!f) return std::nullopt;
  auto decoded = cam::decode(*f);
  if (auto* e = std::get_if<cam::decode_error>(&decoded))
    throw cam_words::unreadable_frame(peer_, e->text);
  return std::pair{std::get<cam::message>(std::move(decoded)), f->tag};
}

namespace {
volatile std::sig_atomic_t waits_interrupted = 0;
}  // namespace

void cam_client::interrupt_waits() { waits_interrupted = 1; }

bool cam_client::readable(std::chrono::milliseconds limit) {
  pollfd p{fd_, POLLIN, 0};
  int ready;
  do {
    if (waits_interrupted) throw cli_error(interrupted, "interrupted");
    ready = ::poll(&p, 1, static_cast<int>(limit.count()));
  } while (ready < 0 && errno == EINTR);
  return ready != 0;  // an error shows in the read that follows
}

bool cam_client::receive() {
  std::byte buf[65536];
  ssize_t n;
  do n = ::recv(fd_, buf, sizeof buf, 0);
  while (n < 0 && errno == EINTR);
  if (n <= 0) connection_ended();
  return !reader_.feed(std::span(buf, static_cast<std::size_t>(n)));
}

void cam_client::receive_within(std::chrono::milliseconds limit) {
  if (!readable(limit)) throw cam_words::silent(peer_, limit);
  if (!receive()) throw cam_words::unreadable_stream(peer_, reader_.error_text());
}

std::pair<cam::message, std::uint32_t> cam_client::next() {
  for (;;) {
    if (auto m = take_buffered()) return std::move(*m);
    receive_within(silence_wait);
  }
}

std::uint32_t cam_client::send_request(const cam::message& m) {
  const std::uint32_t tag = ++tag_;
  send(m, tag);
  return tag;
}

cam::message cam_client::request(const cam::message& m, const on_other& other) {
  const std::uint32_t tag = send_request(m);
  for (;;) {
    auto [reply, t] = next();
    if (t != tag) {
      if (other) other(std::move(reply), t);
      continue;
    }
    if (const auto* e = std::get_if<cam::messages::error>(&reply)) throw cam_words::refused(*e);
    return reply;
  }
}

saved_capture capture_to(cam_client& cl, const std::filesystem::path& dir,
                         const cam_client::on_other& other,
                         const std::function<void(const saved_capture&, std::uint64_t)>& progress) {
  namespace msg = cam::messages;
  cl.request(msg::capture{}, other);
  std::optional<msg::capture_done> done;
  while (!done) {  // capture_done is an event, after the reply
    auto [m, tag] = cl.next();
    if (auto* d = std::get_if<msg::capture_done>(&m))
      done = *d;
    else if (other)
      other(std::move(m), tag);
  }
  capture_file file(dir, *done);
  const std::uint32_t tag = cl.send_request(msg::download{done->transfer_id, 0});
  while (!file.complete()) {
    auto [m, t] = cl.next();
    if (t != tag) {
      if (other) other(std::move(m), t);
      continue;
    }
    file.take(m);
    if (progress) progress(file.so_far(), done->size);
  }
  return file.finish();
}

capture_file::capture_file(const std::filesystem::path& dir,
                           const cam::messages::capture_done& done)
    : total_(done.size) {
  const std::string name = std::filesystem::path(done.file_name).filename().string();
  if (name.empty() || name == "." || name == "..")
    throw cli_error(failed, "the camera named its file oddly: " + done.file_name);
  std::filesystem::create_directories(dir);
  out_ = {dir / name, name, done.mime_type, 0};
  file_.open(out_.path, std::ios::binary | std::ios::trunc);
  if (!file_) throw cli_error(failed, "cannot write " + out_.path.string());
}

void capture_file::take(const cam::message& m) {
  if (const auto* e = std::get_if<cam::messages::error>(&m))
    throw cli_error(failed, "download of " + out_.file_name + " failed: " + e->message);
  const auto* chunk = std::get_if<cam::messages::image_chunk>(&m);
  if (chunk == nullptr || chunk->offset != out_.size)
    throw cli_error(failed, "download of " + out_.file_name + " came out of order");
  file_.write(reinterpret_cast<const char*>(chunk->data.data()),
              static_cast<std::streamsize>(chunk->data.size()));
  out_.size += chunk->data.size();
}

saved_capture capture_file::finish() {
  if (!file_.flush()) throw cli_error(failed, "cannot write " + out_.path.string());
  file_.close();
  return out_;
}

}  // namespace tether::cli
